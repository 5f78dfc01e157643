-- migrate:up
create table users (id serial primary key);

-- migrate:down
drop table users;
