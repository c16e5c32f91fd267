-- `cdc-relay backfill` and `cdc-relay recover`: each run, and its manifest (the ids it chose in
-- one snapshot), so a rerun after a crash publishes exactly those rows and continues after the
-- last page the broker acknowledged. The relay creates the same tables when this has not run.
CREATE TABLE IF NOT EXISTS outbox_relay_backfills (
    name        text        PRIMARY KEY,
    slot_name   text        NOT NULL,
    selection   text        NOT NULL,
    total       bigint      NOT NULL,
    done        bigint      NOT NULL DEFAULT 0,
    last_id     bigint,
    invalid     bigint      NOT NULL DEFAULT 0,
    started_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);

CREATE TABLE IF NOT EXISTS outbox_relay_backfill_rows (
    name text   NOT NULL,
    id   bigint NOT NULL,
    PRIMARY KEY (name, id)
);
