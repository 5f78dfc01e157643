-- migrate:up
CREATE INDEX events_payload ON events USING gin (payload);

-- migrate:down
DROP INDEX events_payload;
