DROP TABLE never_created;
