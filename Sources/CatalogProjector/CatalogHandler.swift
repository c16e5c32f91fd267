import Inbox
import Logging
import PostgresNIO

/// The read model's effect of `product.created` events, in the inbox's transaction: the product
/// row, and each event adds one product and its stock to its category (a duplicate would show).
/// Other event types are recorded in the inbox and otherwise ignored.
public struct CatalogHandler: InboxHandler {
    public init() {}

    public func handle(_ entries: [InboxEntry], on connection: PostgresConnection, logger: Logger) async throws {
        var events: [(eventID: Int64, product: ProductCreated)] = []
        for entry in entries {
            let payload = entry.message.payloadBytes
            guard ProductCreated.isProductCreated(properties: entry.message.properties, payload: payload) else { continue }
            guard let eventID = entry.eventID else { continue }
            events.append((eventID, try ProductCreated(payload: payload)))
        }
        guard !events.isEmpty else { return }
        try await Self.apply(events, on: connection, logger: logger)
    }

    static let statement = """
        WITH incoming AS (
            SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[])
                AS t(product_id, name, category, price, stock, event_id)
        ), products AS (
            INSERT INTO catalog_products (product_id, name, category, price, stock, event_id)
            SELECT DISTINCT ON (product_id) product_id, name, category, price::numeric(12,2), stock, event_id
            FROM incoming ORDER BY product_id, event_id DESC
            ON CONFLICT (product_id) DO UPDATE SET
                name = EXCLUDED.name, category = EXCLUDED.category, price = EXCLUDED.price,
                stock = EXCLUDED.stock, event_id = EXCLUDED.event_id
            RETURNING 1
        )
        INSERT INTO catalog_category_stats (category, products, stock)
        SELECT category, count(*), sum(stock) FROM incoming GROUP BY category ORDER BY category
        ON CONFLICT (category) DO UPDATE SET
            products = catalog_category_stats.products + EXCLUDED.products,
            stock = catalog_category_stats.stock + EXCLUDED.stock
        """

    static func apply(_ events: [(eventID: Int64, product: ProductCreated)], on connection: PostgresConnection, logger: Logger) async throws {
        var binds = PostgresBindings(capacity: 6)
        binds.append(events.map(\.product.productID))
        binds.append(events.map(\.product.name))
        binds.append(events.map(\.product.category))
        binds.append(events.map(\.product.price))
        binds.append(events.map(\.product.stock))
        binds.append(events.map(\.eventID))
        try await connection.query(PostgresQuery(unsafeSQL: statement, binds: binds), logger: logger)
    }
}
