schema.sql is not a migration
