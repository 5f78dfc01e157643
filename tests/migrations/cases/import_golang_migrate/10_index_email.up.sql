-- golang-migrate runs nothing in a transaction, so this ran upstream.
CREATE INDEX CONCURRENTLY users_email ON users (email);
