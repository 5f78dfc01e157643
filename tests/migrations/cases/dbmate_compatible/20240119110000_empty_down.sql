-- migrate:up
insert into users (email) values ('admin@example.com');
-- migrate:down
