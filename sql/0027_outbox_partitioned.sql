-- The outbox becomes range-partitioned by id (a snowflake: milliseconds since 2024-01-01 << 22),
-- so retention drops whole partitions instead of deleting rows (no dead tuples, no vacuum storm).
-- The rows already there stay where they are: the old table is attached as the first partition,
-- which writes nothing to the WAL, so no event is published again (copying would re-insert).
-- Partitions of `outbox.partition_interval` are created ahead, and old ones dropped, by the API
-- (OutboxPartitionService). Until it runs, `outbox_default` takes every new row, so inserts
-- never fail for want of a partition. Does nothing when the outbox is already partitioned.
DO $$
DECLARE
    boundary bigint;
    pub record;
    grant_row record;
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = to_regclass('outbox')) IS DISTINCT FROM 'r' THEN
        RETURN;
    END IF;
    -- Writers wait for the conversion instead of failing half-way through it.
    LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE;
    ALTER TABLE outbox RENAME TO outbox_legacy;
    ALTER INDEX IF EXISTS outbox_pkey RENAME TO outbox_legacy_pkey;
    ALTER INDEX IF EXISTS outbox_created_at_idx RENAME TO outbox_legacy_created_at_idx;

    CREATE TABLE outbox (
        id             bigint      NOT NULL,
        aggregate_type text        NOT NULL,
        aggregate_id   text        NOT NULL,
        event_type     text        NOT NULL,
        payload        jsonb       NOT NULL,
        headers        jsonb       NOT NULL DEFAULT '{}'::jsonb,
        created_at     timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (id)
    ) PARTITION BY RANGE (id);

    -- Above every existing id and at least the current time's id: new rows never land in it.
    SELECT greatest(
        coalesce(max(id) + 1, 0),
        (floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint - 1704067200000) << 22
    ) INTO boundary FROM outbox_legacy;
    -- A validated CHECK that implies the partition bound, so ATTACH does not scan the table again.
    EXECUTE format('ALTER TABLE outbox_legacy ADD CONSTRAINT outbox_legacy_bound CHECK (id IS NOT NULL AND id < %s)', boundary);
    EXECUTE format('ALTER TABLE outbox ATTACH PARTITION outbox_legacy FOR VALUES FROM (MINVALUE) TO (%s)', boundary);
    CREATE TABLE outbox_default PARTITION OF outbox DEFAULT;
    -- On the parent; the legacy table's matching index is attached, not rebuilt.
    CREATE INDEX outbox_created_at_idx ON outbox (created_at);

    -- The same grants on the new table (partitions are reached through it).
    FOR grant_row IN
        SELECT a.privilege_type, r.rolname
        FROM pg_class c, aclexplode(c.relacl) a JOIN pg_roles r ON r.oid = a.grantee
        WHERE c.oid = 'outbox_legacy'::regclass AND a.grantee <> c.relowner
    LOOP
        EXECUTE format('GRANT %s ON outbox TO %I', grant_row.privilege_type, grant_row.rolname);
    END LOOP;

    -- Publications that named the table now hold the renamed one: point them at the new root,
    -- published under its own name, so the relay keeps seeing one table called outbox.
    FOR pub IN
        SELECT p.pubname, p.puballtables FROM pg_publication p
        WHERE p.puballtables
           OR EXISTS (SELECT 1 FROM pg_publication_rel pr WHERE pr.prpubid = p.oid AND pr.prrelid = 'outbox_legacy'::regclass)
    LOOP
        IF NOT pub.puballtables THEN
            EXECUTE format('ALTER PUBLICATION %I DROP TABLE outbox_legacy', pub.pubname);
            EXECUTE format('ALTER PUBLICATION %I ADD TABLE outbox', pub.pubname);
        END IF;
        EXECUTE format('ALTER PUBLICATION %I SET (publish_via_partition_root = true)', pub.pubname);
    END LOOP;
END
$$;
