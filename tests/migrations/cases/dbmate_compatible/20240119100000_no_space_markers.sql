--migrate:up
alter table users add column name text;
--migrate:down
alter table users drop column name;
