-- The relay's acknowledged progress, next to the slot's identity. Postgres 15 writes a slot's
-- confirmed position to disk only at checkpoints, so after a crash the slot can go back minutes;
-- the relay also records here (a committed row, about once a second) the newest position the
-- broker acknowledged, and starts from the newer of the two. `acked_commit_time` is the commit
-- time of that position's transaction: the outbox retention keeps every row newer than it minus
-- the recovery margin, and `cdc-relay recover` republishes from it after a lost slot.
ALTER TABLE outbox_relay_slots
    ADD COLUMN IF NOT EXISTS acked_lsn         pg_lsn,
    ADD COLUMN IF NOT EXISTS acked_commit_time timestamptz,
    ADD COLUMN IF NOT EXISTS acked_event_id    bigint,
    ADD COLUMN IF NOT EXISTS progress_at       timestamptz;
