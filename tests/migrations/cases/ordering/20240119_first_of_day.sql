-- An 8-digit version: sorts before every 14-digit version of 2024-01-19.
-- migrate:up
CREATE TABLE accounts (id bigint PRIMARY KEY);

-- migrate:down
DROP TABLE accounts;
