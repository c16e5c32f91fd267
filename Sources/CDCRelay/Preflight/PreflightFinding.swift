import Foundation

/// One line of the preflight report.
public struct PreflightFinding: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable {
        case ok
        /// The relay runs, but something needs attention (disk, a relay already streaming).
        case warning
        /// The relay would refuse to start or could not stream.
        case blocker
    }

    public var check: String
    public var status: Status
    public var detail: String

    public init(_ check: String, _ status: Status, _ detail: String) {
        self.check = check
        self.status = status
        self.detail = detail
    }
}

/// The findings as one aligned, readable table (no colours: it goes to logs and CI too).
public enum PreflightReport {
    public static func render(_ findings: [PreflightFinding]) -> String {
        let header = ("CHECK", "STATUS", "DETAIL")
        let checkWidth = max(header.0.count, findings.map(\.check.count).max() ?? 0)
        let statusWidth = max(header.1.count, findings.map { $0.status.rawValue.count }.max() ?? 0)
        func line(_ check: String, _ status: String, _ detail: String) -> String {
            check.padding(toLength: checkWidth, withPad: " ", startingAt: 0) + "  "
                + status.padding(toLength: statusWidth, withPad: " ", startingAt: 0) + "  " + detail
        }
        var lines = [line(header.0, header.1, header.2)]
        lines += findings.map { line($0.check, $0.status.rawValue.uppercased(), $0.detail) }
        let blockers = findings.filter { $0.status == .blocker }.count
        let warnings = findings.filter { $0.status == .warning }.count
        lines.append(blockers == 0
            ? "ready: the relay can stream (\(warnings) warning\(warnings == 1 ? "" : "s"))"
            : "not ready: \(blockers) blocker\(blockers == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")")
        return lines.joined(separator: "\n")
    }
}
