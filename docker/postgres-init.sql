-- Runs once when the Postgres container initialises its data directory: the relay's own role,
-- allowed to stream WAL and, as a member of app, to read the outbox and record its slot.
CREATE ROLE outbox_relay LOGIN REPLICATION PASSWORD 'app' IN ROLE app;

-- catalog-projector's own database (read model and inbox), separate from the API's.
CREATE DATABASE catalog OWNER app;
