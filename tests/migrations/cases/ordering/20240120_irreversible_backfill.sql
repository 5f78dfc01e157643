-- migrate:up
UPDATE accounts SET email = lower(email);

-- migrate:down
-- Lower-casing cannot be undone: this migration is irreversible.
