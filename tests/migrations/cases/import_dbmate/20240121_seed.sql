--migrate:up
insert into users default values;
--migrate:down
