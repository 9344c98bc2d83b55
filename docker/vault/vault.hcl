# Vault server for the docker-compose demo: a real (non-dev) server that starts sealed and keeps
# its data in the `vault-data` volume. docker/vault/init.sh initialises and unseals it.
#
# Demo simplifications (do NOT copy to production):
#   - the listener has no TLS: it is only reachable inside the compose network;
#   - mlock is disabled so the server starts on hosts that cannot lock memory (rootless Docker,
#     some VMs); production should keep mlock (or use integrated storage with swap disabled);
#   - one unseal key held next to the server (see init.sh); production uses proper key shares
#     or auto-unseal (cloud KMS / HSM / Transit).

storage "file" {
  path = "/openbao/file"
}

listener "tcp" {
  address     = "0.0.0.0:8200"
  tls_disable = true
}

api_addr      = "http://vault:8200"
disable_mlock = true
ui            = false
