-- The transactional outbox: one row per event, written in the same transaction as the change it
-- describes. `id` is the event id (a snowflake). The relay reads inserts from the WAL, so rows are
-- never updated; relayed rows are garbage and may be deleted by age (created_at index).
CREATE TABLE outbox (
    id             bigint      PRIMARY KEY,
    aggregate_type text        NOT NULL,
    aggregate_id   text        NOT NULL,
    event_type     text        NOT NULL,
    payload        jsonb       NOT NULL,
    headers        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX outbox_created_at_idx ON outbox (created_at);
