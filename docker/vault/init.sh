#!/bin/sh
# vault-init: prepares the compose file's Vault for the credential broker. Runs in the
# hashicorp/vault image (vault CLI + busybox sh; no jq) on every `docker compose up`, and is
# idempotent:
#   1. waits for the Vault server to answer (it starts sealed);
#   2. `vault operator init` once, keeping the output in $VAULT_INIT_DIR (a volume that only this
#      service mounts);
#   3. unseals (Vault seals itself on every restart);
#   4. enables KV v2 at secret/ if missing;
#   5. writes the `credential-broker` policy;
#   6. enables AppRole and writes the `credential-broker` role;
#   7. writes role_id and secret_id to $BROKER_SECRETS_DIR (the `broker-secrets` volume, mounted
#      read-only by api and worker as VAULT_ROLE_ID_FILE / VAULT_SECRET_ID_FILE).
#
# DEMO ONLY: one unseal key share (threshold 1), stored with the root token next to the server.
# Anyone who can read the vault-init volume owns this Vault. Production must use proper key
# shares held by different people, or auto-unseal (cloud KMS, HSM, Transit), and revoke the root
# token after setup.
set -eu

VAULT_ADDR=${VAULT_ADDR:-http://vault:8200}
export VAULT_ADDR
INIT_DIR=${VAULT_INIT_DIR:-/vault-init}
SECRETS_DIR=${BROKER_SECRETS_DIR:-/broker-secrets}
# The broker image runs as `node` (uid/gid 1000); the credentials are readable by it alone.
BROKER_UID=${BROKER_UID:-1000}
BROKER_GID=${BROKER_GID:-1000}
KV_MOUNT=${VAULT_KV_MOUNT:-secret}
PATH_PREFIX=${VAULT_PATH_PREFIX:-credential-broker}
POLICY=credential-broker
ROLE=credential-broker
INIT_FILE=$INIT_DIR/init.json
WAIT_SECONDS=${VAULT_WAIT_SECONDS:-120}

log() { echo "vault-init: $*"; }
die() {
  echo "vault-init: ERROR: $*" >&2
  exit 1
}

umask 077
mkdir -p "$INIT_DIR" "$SECRETS_DIR"

# `vault status` exits 0 when unsealed, 2 when sealed, 1 when it cannot reach the server.
status_code() {
  rc=0
  vault status >/dev/null 2>&1 || rc=$?
  echo "$rc"
}

# Value of a top-level JSON string field (first match), from a flattened JSON document.
json_string() {
  tr -d '\n\r\t ' | sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p"
}

# First element of a top-level JSON array of strings.
json_first() {
  tr -d '\n\r\t ' | sed -n "s/.*\"$1\":\\[\"\\([^\"]*\\)\".*/\\1/p"
}

# Writes $2 (no trailing newline) to file $1 atomically, owned by the broker's uid, readable by it only.
write_secret_file() {
  tmp="$1.tmp.$$"
  printf '%s' "$2" >"$tmp"
  chown "$BROKER_UID:$BROKER_GID" "$tmp"
  chmod 0400 "$tmp"
  mv -f "$tmp" "$1"
}

# 1. Wait for the server.
log "waiting for Vault at $VAULT_ADDR"
waited=0
while [ "$(status_code)" = 1 ]; do
  [ "$waited" -ge "$WAIT_SECONDS" ] && die "Vault at $VAULT_ADDR did not answer within ${WAIT_SECONDS}s"
  sleep 2
  waited=$((waited + 2))
done

# 2. Initialise once.
status_json=$(vault status -format=json 2>/dev/null || true)
if printf '%s' "$status_json" | tr -d '\n\r\t ' | grep -q '"initialized":false'; then
  log "initialising Vault with 1 key share, threshold 1 (DEMO ONLY: production needs real shares or auto-unseal)"
  vault operator init -key-shares=1 -key-threshold=1 -format=json >"$INIT_FILE.tmp"
  mv -f "$INIT_FILE.tmp" "$INIT_FILE"
elif ! printf '%s' "$status_json" | tr -d '\n\r\t ' | grep -q '"initialized":true'; then
  die "cannot read Vault's status: $status_json"
elif [ ! -s "$INIT_FILE" ]; then
  die "Vault is already initialised but $INIT_FILE is missing, so it cannot be unsealed. Recreate both volumes (docker compose down -v) or unseal it by hand."
else
  log "Vault is already initialised"
fi
chmod 0600 "$INIT_FILE"

UNSEAL_KEY=$(json_first unseal_keys_b64 <"$INIT_FILE")
ROOT_TOKEN=$(json_string root_token <"$INIT_FILE")
[ -n "$UNSEAL_KEY" ] || die "no unseal key in $INIT_FILE"
[ -n "$ROOT_TOKEN" ] || die "no root token in $INIT_FILE"

# 3. Unseal (needed after every restart of the vault container).
if [ "$(status_code)" = 2 ]; then
  log "unsealing"
  vault operator unseal "$UNSEAL_KEY" >/dev/null
fi
waited=0
until [ "$(status_code)" = 0 ]; do
  [ "$waited" -ge 30 ] && die "Vault is still sealed or unreachable after unsealing"
  sleep 1
  waited=$((waited + 1))
done
log "Vault is unsealed"

VAULT_TOKEN=$ROOT_TOKEN
export VAULT_TOKEN

# 4. KV v2 at secret/.
if mount_json=$(vault read -format=json "sys/mounts/$KV_MOUNT" 2>/dev/null); then
  flat=$(printf '%s' "$mount_json" | tr -d '\n\r\t ')
  case "$flat" in
    *'"type":"kv"'*) ;;
    *) die "$KV_MOUNT/ is mounted but is not a kv secrets engine" ;;
  esac
  case "$flat" in
    *'"version":"2"'*) log "KV v2 is mounted at $KV_MOUNT/" ;;
    *)
      log "upgrading $KV_MOUNT/ to KV v2"
      vault kv enable-versioning "$KV_MOUNT/" >/dev/null
      ;;
  esac
else
  log "enabling KV v2 at $KV_MOUNT/"
  vault secrets enable -path="$KV_MOUNT" -version=2 kv >/dev/null
fi

# 5. The broker's policy (rewritten on every run, so edits here take effect).
log "writing policy $POLICY"
vault policy write "$POLICY" - >/dev/null <<EOF
# The credential broker: its own KV v2 subtree, and its own token.
path "$KV_MOUNT/data/$PATH_PREFIX/*" {
  capabilities = ["create", "read", "update", "delete", "list"]
}
path "$KV_MOUNT/metadata/$PATH_PREFIX/*" {
  capabilities = ["create", "read", "update", "delete", "list"]
}
path "auth/token/renew-self" {
  capabilities = ["update"]
}
path "auth/token/lookup-self" {
  capabilities = ["read"]
}
EOF

# 6. AppRole and the broker's role.
if vault auth list -format=json | tr -d '\n\r\t ' | grep -q '"approle/":'; then
  log "AppRole is enabled"
else
  log "enabling AppRole"
  vault auth enable approle >/dev/null
fi
# secret_id_ttl=0 / secret_id_num_uses=0: the secret_id never expires (DEMO ONLY; production
# should deliver short-lived, response-wrapped secret_ids).
log "writing AppRole role $ROLE"
vault write "auth/approle/role/$ROLE" \
  token_policies="$POLICY" \
  token_ttl=1h \
  token_max_ttl=24h \
  secret_id_ttl=0 \
  secret_id_num_uses=0 >/dev/null

# 7. Credentials for api and worker.
ROLE_ID=$(vault read -field=role_id "auth/approle/role/$ROLE/role-id")
[ -n "$ROLE_ID" ] || die "could not read the role_id of $ROLE"
write_secret_file "$SECRETS_DIR/role_id" "$ROLE_ID"

# Keep a secret_id that still logs in (so running api/worker are not disturbed); else issue one.
secret_id_ok=false
if [ -s "$SECRETS_DIR/secret_id" ]; then
  if token=$(vault write -field=token auth/approle/login \
    role_id="$ROLE_ID" secret_id=@"$SECRETS_DIR/secret_id" 2>/dev/null) && [ -n "$token" ]; then
    secret_id_ok=true
    VAULT_TOKEN=$token vault token revoke -self >/dev/null 2>&1 || true
  fi
fi
if [ "$secret_id_ok" = true ]; then
  log "the existing secret_id is valid"
else
  log "issuing a new secret_id"
  SECRET_ID=$(vault write -f -field=secret_id "auth/approle/role/$ROLE/secret-id")
  [ -n "$SECRET_ID" ] || die "could not issue a secret_id for $ROLE"
  write_secret_file "$SECRETS_DIR/secret_id" "$SECRET_ID"
fi

log "done: role_id and secret_id are in $SECRETS_DIR"
