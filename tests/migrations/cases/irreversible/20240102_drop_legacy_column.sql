-- migrate:up
ALTER TABLE events DROP COLUMN legacy;

-- migrate:down
-- The dropped values cannot be brought back: this migration is irreversible.
