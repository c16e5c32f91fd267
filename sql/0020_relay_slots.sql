-- The identity of each replication slot the CDC relay created, so a slot that disappears after
-- use (dropped, or the cluster replaced) is detected instead of silently recreated with a gap.
-- The relay also creates this table itself (same definition) when the migration has not run.
CREATE TABLE IF NOT EXISTS outbox_relay_slots (
    slot_name         text        PRIMARY KEY,
    system_identifier text        NOT NULL,
    database          text        NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    created_lsn       pg_lsn      NOT NULL
);
