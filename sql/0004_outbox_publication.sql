-- The relay streams only outbox inserts: updates and deletes (e.g. retention) are not published.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'outbox_pub') THEN
        CREATE PUBLICATION outbox_pub FOR TABLE outbox WITH (publish = 'insert');
    END IF;
END
$$;
