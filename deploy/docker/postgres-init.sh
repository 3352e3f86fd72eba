#!/bin/bash
# Runs once, on the first start of the postgres container (docker-entrypoint-initdb.d):
# one login role and one database per service; a role may connect to its own database only.
#
# Passwords come from XF_PG_PASSWORD_<SERVICE> (docker-compose.yml passes them in; their
# defaults there are for DEVELOPMENT ONLY). Mirrors shared/tools/stack/postgres.py's provision().
set -euo pipefail

for service in console intake routing deadlines statistics; do
  role="xinfang_${service}"
  var="XF_PG_PASSWORD_${service^^}"
  password="${!var:-}"
  if [ -z "$password" ]; then
    echo "postgres-init: $var is not set" >&2
    exit 1
  fi
  # psql variables quote the identifier (:"role") and the literal (:'password') for us.
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
       -v role="$role" -v password="$password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" WITH LOGIN PASSWORD :'password';
SELECT format('CREATE DATABASE %I OWNER %I', :'role', :'role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'role') \gexec
REVOKE ALL ON DATABASE :"role" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"role" TO :"role";
SQL
  echo "postgres-init: database and role $role ready"
done

# No service role may wander into the maintenance database either.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
     -c "REVOKE ALL ON DATABASE postgres FROM PUBLIC;"
