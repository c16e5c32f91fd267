-- The Inbox library's table: one row per (subscription, event) whose effect committed.
-- A redelivered event finds its row and is acknowledged without running the handler again.
CREATE TABLE inbox (
    subscription text        NOT NULL,
    event_id     bigint      NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subscription, event_id)
);

-- Retention deletes by age.
CREATE INDEX inbox_processed_at ON inbox (processed_at);
