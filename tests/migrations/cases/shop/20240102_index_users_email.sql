-- migrate:up transaction:false
CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (lower(email));

-- migrate:down transaction:false
DROP INDEX CONCURRENTLY users_email_key;
