#!/bin/sh
# vault-init: prepares the compose file's Vault for the credential broker. Runs in the
# openbao/openbao image (`bao` CLI + busybox sh; no jq; the hashicorp/vault image's `vault` works
# too) on every `docker compose up`, and is idempotent:
#   1. waits for the Vault server to answer (it starts sealed);
#   2. `operator init` once, keeping the output in $VAULT_INIT_DIR (a volume that only this
#      service and vault-unseal mount);
#   3. unseals (Vault seals itself on every restart);
#   4. gets a root token: the initial one if it still works, else a fresh one made with the
#      unseal key (`operator generate-root`), revoked again at the end; so revoking the initial
#      root token (as one should) does not break the next `up`;
#   5. enables KV v2 at secret/ if missing;
#   6. writes the `credential-broker` policy from deploy/vault/policy.hcl ($VAULT_POLICY_FILE);
#   7. enables AppRole and writes the `credential-broker` role;
#   8. writes role_id and secret_id to $BROKER_SECRETS_DIR (the `broker-secrets` volume, mounted
#      read-only by api and worker as VAULT_ROLE_ID_FILE / VAULT_SECRET_ID_FILE), keeping a
#      secret_id that still logs in and issuing a new one when it does not.
#
# `init.sh --unseal-loop` (the vault-unseal service): every few seconds, unseal Vault if it is
# sealed (after a container restart or a host reboot), so the broker recovers without anyone.
#
# DEMO ONLY: one unseal key share (threshold 1), stored next to the server. Anyone who can read
# the vault-init volume owns this Vault. Production must use proper key shares held by different
# people, or auto-unseal (cloud KMS, HSM, Transit).
set -eu

ADDR=${BAO_ADDR:-${VAULT_ADDR:-http://vault:8200}}
# The OpenBao CLI reads BAO_*, the Vault CLI VAULT_*: set both.
BAO_ADDR=$ADDR VAULT_ADDR=$ADDR
export BAO_ADDR VAULT_ADDR
if command -v bao >/dev/null 2>&1; then CLI=bao; else CLI=vault; fi
vault() { command "$CLI" "$@"; }
set_token() {
  BAO_TOKEN=$1 VAULT_TOKEN=$1
  export BAO_TOKEN VAULT_TOKEN
}
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
POLICY_FILE=${VAULT_POLICY_FILE:-/vault-policy/policy.hcl}

log() { echo "vault-init: $*"; }
die() {
  echo "vault-init: ERROR: $*" >&2
  exit 1
}

umask 077

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

unseal_key() { json_first unseal_keys_b64 <"$INIT_FILE"; }

if [ "${1:-}" = "--unseal-loop" ]; then
  log "watching $BAO_ADDR: unsealing it whenever it is sealed"
  while :; do
    if [ "$(status_code)" = 2 ] && [ -s "$INIT_FILE" ]; then
      log "Vault is sealed: unsealing"
      vault operator unseal "$(unseal_key)" >/dev/null || log "unseal failed; retrying"
    fi
    sleep 5
  done
fi

mkdir -p "$INIT_DIR" "$SECRETS_DIR"

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

UNSEAL_KEY=$(unseal_key)
INITIAL_ROOT_TOKEN=$(json_string root_token <"$INIT_FILE")
[ -n "$UNSEAL_KEY" ] || die "no unseal key in $INIT_FILE"

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

# 4. A root token: the initial one while it works, else one made from the unseal key.
GENERATED_ROOT=""
revoke_generated_root() {
  [ -n "$GENERATED_ROOT" ] && vault token revoke -self >/dev/null 2>&1 || true
}
trap revoke_generated_root EXIT
if [ -n "$INITIAL_ROOT_TOKEN" ] && VAULT_TOKEN=$INITIAL_ROOT_TOKEN BAO_TOKEN=$INITIAL_ROOT_TOKEN \
  vault token lookup >/dev/null 2>&1; then
  set_token "$INITIAL_ROOT_TOKEN"
else
  log "the initial root token is revoked or missing: making a short-lived one with the unseal key"
  vault operator generate-root -cancel >/dev/null 2>&1 || true
  gen=$(vault operator generate-root -init -format=json) || die "operator generate-root -init failed"
  nonce=$(printf '%s' "$gen" | json_string nonce)
  otp=$(printf '%s' "$gen" | json_string otp)
  encoded=$(vault operator generate-root -nonce="$nonce" -format=json "$UNSEAL_KEY" | json_string encoded_token)
  [ -n "$encoded" ] || die "operator generate-root did not complete"
  GENERATED_ROOT=$(vault operator generate-root -decode="$encoded" -otp="$otp")
  [ -n "$GENERATED_ROOT" ] || die "could not decode the generated root token"
  set_token "$GENERATED_ROOT"
fi

# 5. KV v2 at secret/.
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

# 6. The broker's policy, from deploy/vault/policy.hcl (rewritten on every run, so edits take
# effect), its paths moved to this KV mount and prefix when they differ from the defaults.
[ -s "$POLICY_FILE" ] || die "policy file $POLICY_FILE is missing (deploy/vault/policy.hcl)"
log "writing policy $POLICY from $POLICY_FILE"
sed -e "s#\"secret/\([a-z]*\)/credential-broker/#\"$KV_MOUNT/\\1/$PATH_PREFIX/#" "$POLICY_FILE" |
  vault policy write "$POLICY" - >/dev/null

# 7. AppRole and the broker's role.
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

# 8. Credentials for api and worker.
ROLE_ID=$(vault read -field=role_id "auth/approle/role/$ROLE/role-id")
[ -n "$ROLE_ID" ] || die "could not read the role_id of $ROLE"
write_secret_file "$SECRETS_DIR/role_id" "$ROLE_ID"

# Keep a secret_id that still logs in (so running api/worker are not disturbed); else issue one.
secret_id_ok=false
if [ -s "$SECRETS_DIR/secret_id" ]; then
  if token=$(vault write -field=token auth/approle/login \
    role_id="$ROLE_ID" secret_id=@"$SECRETS_DIR/secret_id" 2>/dev/null) && [ -n "$token" ]; then
    secret_id_ok=true
    VAULT_TOKEN=$token BAO_TOKEN=$token vault token revoke -self >/dev/null 2>&1 || true
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
