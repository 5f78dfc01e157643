-- migrate:up transaction:false
create index concurrently users_id on users (id);
-- migrate:down transaction:false
drop index concurrently users_id;
