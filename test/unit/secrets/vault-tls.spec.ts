import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VaultSecretStore } from '../../../src/secrets/vault/vault-secret-store';
import { startFakeVault, type FakeVault } from '../../fakes/vault/fake-vault';
import { expectReason } from './secret-store.contract';
import { vaultConfig } from './vault-support';

/** VAULT_CA_CERT: Vault over HTTPS with a private CA, made here with openssl. */

let dir: string;
let fake: FakeVault;

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fake-vault-tls-'));
  openssl(
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=Test Vault CA',
    '-keyout', 'ca.key', '-out', 'ca.pem',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign',
  ); // prettier-ignore
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    'vault.key',
    '-out',
    'vault.csr',
  );
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  openssl(
    'x509', '-req', '-in', 'vault.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-days', '1', '-extfile', 'ext.cnf', '-out', 'vault.pem',
  ); // prettier-ignore
  fake = await startFakeVault({
    tls: {
      key: readFileSync(join(dir, 'vault.key'), 'utf8'),
      cert: readFileSync(join(dir, 'vault.pem'), 'utf8'),
    },
  });
});

afterAll(async () => {
  await fake?.close();
  rmSync(dir, { recursive: true, force: true });
});

it('trusts Vault through the CA in VAULT_CA_CERT', async () => {
  const store = new VaultSecretStore(vaultConfig(fake, { caCert: join(dir, 'ca.pem') }));
  expect(fake.url).toMatch(/^https:/);
  await store.write('connections/tls', { a: 'b' });
  expect((await store.read('connections/tls'))?.reveal()).toEqual({ a: 'b' });
  await expect(store.health()).resolves.toMatchObject({ ok: true });
});

it('refuses Vault when its certificate is not signed by a trusted CA', async () => {
  const store = new VaultSecretStore(vaultConfig(fake));
  await expectReason(store.read('connections/tls'), 'unavailable');
});
