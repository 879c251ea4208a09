#!/bin/sh
# Run once by the postgis image when its volume is empty (after its own 10_postgis.sh), as POSTGRES_USER.
# The superuser stays for administration; `xiangmap` owns the database and runs migrations and setup;
# `xiangmap_app` is the service's role: it owns nothing and gets its grants from migration 0010
# (docs/trust.md "Database roles and the server account", docs/decisions/0091-owner-and-app-roles.md).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v owner_pw="$XIANGMAP_OWNER_DB_PASSWORD" -v app_pw="$XIANGMAP_APP_DB_PASSWORD" -v db="$POSTGRES_DB" <<'SQL'
CREATE ROLE xiangmap LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'owner_pw';
CREATE ROLE xiangmap_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT PASSWORD :'app_pw';
CREATE EXTENSION IF NOT EXISTS postgis;  -- not a trusted extension: the superuser installs it
ALTER DATABASE :"db" OWNER TO xiangmap;   -- and with it the public schema (pg_database_owner)
REVOKE CREATE, TEMPORARY ON DATABASE :"db" FROM PUBLIC;
SQL
