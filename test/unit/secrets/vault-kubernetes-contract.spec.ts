import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VaultSecretStore } from '../../../src/secrets/vault/vault-secret-store';
import { startFakeVault, type FakeVault } from '../../fakes/vault/fake-vault';
import { describeSecretStoreContract } from './secret-store.contract';
import { vaultConfig } from './vault-support';

/** The SecretStore contract once more, with a token from Kubernetes auth (short TTL: renewed). */

let fake: FakeVault;
let store: VaultSecretStore | undefined;
const dir = mkdtempSync(join(tmpdir(), 'cbk-k8s-contract-'));

afterAll(async () => {
  await store?.stop();
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

describeSecretStoreContract('vault (kubernetes auth)', async () => {
  fake = await startFakeVault();
  const jwt = `eyJhbGciOiJSUzI1NiJ9.${randomUUID()}.sig`;
  const jwtFile = join(dir, 'token');
  writeFileSync(jwtFile, jwt);
  fake.trustJwt(jwt);
  fake.addKubernetesRole('credential-broker', { ttl: 2, maxTtl: 4 });
  store = new VaultSecretStore(
    vaultConfig(fake, {
      token: undefined,
      kubernetes: { role: 'credential-broker', mount: 'kubernetes', jwtFile },
    }),
    { retryDelayMs: 200 },
  );
  await store.start();
  return store;
});
