-- postgres-setup.sql — the catalog's role and database, run once on the
-- PostgreSQL server (15 or later) as its superuser:
--   sudo -u postgres psql -v ON_ERROR_STOP=1 -v password="$PASSWORD" -f postgres-setup.sql
-- catalogd creates and migrates its own tables at start (IF NOT EXISTS):
-- it needs to own the database, and nothing else.
CREATE ROLE lakehouse LOGIN PASSWORD :'password';
CREATE DATABASE lakehouse OWNER lakehouse ENCODING 'UTF8' TEMPLATE template0;
-- Only the lakehouse role connects (the default lets every role connect).
REVOKE ALL ON DATABASE lakehouse FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE lakehouse TO lakehouse;
