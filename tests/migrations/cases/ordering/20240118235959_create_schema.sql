-- migrate:up
CREATE SCHEMA billing;

-- migrate:down
DROP SCHEMA billing;
