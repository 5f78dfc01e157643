-- migrate:up
CREATE TABLE events (id bigint PRIMARY KEY, legacy text, payload jsonb);

-- migrate:down
DROP TABLE events;
