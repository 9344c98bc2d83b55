# Vault policy of the credential broker: its own KV v2 subtree and its own token, nothing else.
#
#   vault policy write credential-broker deploy/vault/policy.hcl
#
# Written for VAULT_KV_MOUNT=secret and VAULT_PATH_PREFIX=credential-broker (the defaults). With
# other values, replace `secret/` and `/credential-broker/` in the paths below; docker/vault/init.sh
# does that substitution itself when it loads this file.

# Read and write secrets (writes use check-and-set on the current version).
path "secret/data/credential-broker/*" {
  capabilities = ["create", "read", "update", "delete"]
}

# List paths, read versions, and delete a secret with all its versions (disconnect).
path "secret/metadata/credential-broker/*" {
  capabilities = ["read", "list", "delete"]
}

# Soft-delete and destroy given versions.
path "secret/delete/credential-broker/*" {
  capabilities = ["update"]
}
path "secret/destroy/credential-broker/*" {
  capabilities = ["update"]
}

# Keep its own token alive, and prove it works (/health/ready does a lookup-self).
path "auth/token/renew-self" {
  capabilities = ["update"]
}
path "auth/token/lookup-self" {
  capabilities = ["read"]
}
