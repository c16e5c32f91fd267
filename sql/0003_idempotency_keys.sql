-- Retry-safe creates: one row per Idempotency-Key. status_code is NULL while the first request
-- holding the key is still in flight; afterwards the stored response is replayed.
CREATE TABLE idempotency_keys (
    key           text        PRIMARY KEY CHECK (char_length(key) BETWEEN 1 AND 255),
    request_hash  text        NOT NULL,
    status_code   integer,
    response_body text,
    resource_id   bigint,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL
);

CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys (expires_at);
