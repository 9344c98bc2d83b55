#!/bin/sh
# secrets-init: the compose file's generated secrets, so nothing secret is published in it and
# `docker compose up --build` needs no `.env`. Runs on every `up` and is idempotent: a value is
# generated once and kept in the `generated-secrets` volume; a value given in the environment
# (from `.env` or the shell) replaces it.
#   auth_jwt_secret    AUTH_JWT_SECRET (HS256 user tokens) for api and worker
#   postgres_password  POSTGRES_PASSWORD for the postgres service
#   database_url       the broker's DATABASE_URL, with that password
# Read the generated JWT secret (to sign user tokens from your frontend) with
#   docker compose exec api cat /run/generated-secrets/auth_jwt_secret
set -eu
DIR=${GENERATED_SECRETS_DIR:-/generated-secrets}
BROKER_UID=${BROKER_UID:-1000}
mkdir -p "$DIR"
umask 077

random_hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# keep NAME VALUE_FROM_ENV BYTES: the env value if given, else the kept one, else a new one.
keep() {
  file="$DIR/$1"
  if [ -n "$2" ]; then
    printf '%s' "$2" >"$file.tmp" && mv "$file.tmp" "$file"
  elif [ ! -s "$file" ]; then
    random_hex "$3" >"$file.tmp" && mv "$file.tmp" "$file"
    echo "secrets-init: generated $1"
  fi
}

keep auth_jwt_secret "${AUTH_JWT_SECRET:-}" 32
keep postgres_password "${POSTGRES_PASSWORD:-}" 16
printf 'postgres://broker:%s@postgres:5432/broker' "$(cat "$DIR/postgres_password")" >"$DIR/database_url.tmp"
mv "$DIR/database_url.tmp" "$DIR/database_url"

# postgres reads its password as uid 70 (postgres in the alpine image), the broker as uid 1000:
# the broker's files belong to it, the postgres password is readable by the group of both.
chown "$BROKER_UID" "$DIR/auth_jwt_secret" "$DIR/database_url"
chmod 0400 "$DIR/auth_jwt_secret" "$DIR/database_url"
chmod 0444 "$DIR/postgres_password"
echo "secrets-init: ready"
