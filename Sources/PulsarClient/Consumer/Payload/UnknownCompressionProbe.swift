import SwiftProtobuf

/// SwiftProtobuf keeps a proto2 enum value it does not know (a codec newer than ours) as an
/// unknown field and leaves `compression` at NONE. Reading that payload as plain bytes would hand
/// the application garbage, so we look for field 8 among the unknown fields.
enum UnknownCompressionProbe {
    static let compressionFieldNumber: UInt64 = 8

    /// The raw codec value when `compression` arrived with a value we do not know.
    static func unknownCodec(in metadata: Pulsar_Proto_MessageMetadata) -> Int? {
        guard !metadata.hasCompression else { return nil }
        let bytes = [UInt8](metadata.unknownFields.data)
        guard !bytes.isEmpty else { return nil }
        var index = 0
        while index < bytes.count {
            guard let key = readVarint(bytes, &index) else { return nil }
            let field = key >> 3
            switch key & 7 {
            case 0:
                guard let value = readVarint(bytes, &index) else { return nil }
                if field == compressionFieldNumber { return Int(truncatingIfNeeded: value) }
            case 1:
                index += 8
            case 2:
                guard let length = readVarint(bytes, &index), length <= UInt64(bytes.count - index) else { return nil }
                index += Int(length)
            case 5:
                index += 4
            default:
                return nil
            }
        }
        return nil
    }

    private static func readVarint(_ bytes: [UInt8], _ index: inout Int) -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while index < bytes.count, shift < 64 {
            let byte = bytes[index]
            index += 1
            result |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
        return nil
    }
}
