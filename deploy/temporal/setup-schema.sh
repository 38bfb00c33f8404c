#!/bin/sh
# Creates or upgrades Temporal's two PostgreSQL databases. Runs at every `docker compose up`: each step is a no-op
# when already done, and update-schema applies only the migrations a newer server image brings.
set -eu
: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"
port=${DB_PORT:-5432}
schema=/etc/temporal/schema/postgresql/v12

until nc -z -w 5 "$POSTGRES_SEEDS" "$port"; do echo "waiting for PostgreSQL at $POSTGRES_SEEDS:$port"; sleep 2; done

for db in temporal:temporal temporal_visibility:visibility; do
  name=${db%%:*}
  tool="temporal-sql-tool --plugin postgres12 --ep $POSTGRES_SEEDS -u $POSTGRES_USER -p $port --db $name"
  $tool create
  $tool setup-schema -v 0.0
  $tool update-schema -d "$schema/${db#*:}/versioned"
done
echo "Temporal schema ready"
