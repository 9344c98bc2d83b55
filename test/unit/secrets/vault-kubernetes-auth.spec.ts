import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VaultSecretStore } from '../../../src/secrets/vault/vault-secret-store';
import { startFakeVault, type FakeVault, type VaultCall } from '../../fakes/vault/fake-vault';
import { expectReason } from './secret-store.contract';
import { eventually, expectNoSecretsIn, vaultConfig } from './vault-support';

/** Kubernetes auth: login with the pod's service account JWT, re-read from its file at every login. */

let fake: FakeVault;
let dir: string;
let jwtFile: string;
const stores: VaultSecretStore[] = [];
const ROLE = 'credential-broker';
// Shaped like a service account token; `eyJ` is what the log redaction looks for.
const jwt = (): string => `eyJhbGciOiJSUzI1NiJ9.${randomUUID()}.sig`;

function k8sStore(overrides: Parameters<typeof vaultConfig>[1] = {}): VaultSecretStore {
  const store = new VaultSecretStore(
    vaultConfig(fake, {
      token: undefined,
      kubernetes: { role: ROLE, mount: 'kubernetes', jwtFile },
      ...overrides,
    }),
    { retryDelayMs: 200 },
  );
  stores.push(store);
  return store;
}

const logins = (): VaultCall[] =>
  fake.calls.filter((c) => c.path.endsWith('/auth/kubernetes/login'));

beforeEach(async () => {
  fake = await startFakeVault();
  dir = mkdtempSync(join(tmpdir(), 'cbk-k8s-'));
  jwtFile = join(dir, 'token');
});

afterEach(async () => {
  for (const s of stores.splice(0)) await s.stop();
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

it('logs in at auth/kubernetes/login with the role and the JWT from the file', async () => {
  const token = jwt();
  writeFileSync(jwtFile, `${token}\n`);
  fake.trustJwt(token);
  fake.addKubernetesRole(ROLE, { ttl: 3600 });
  const store = k8sStore();
  await store.start();
  expect(logins()).toHaveLength(1);
  expect(logins()[0].token).toBeUndefined();
  const path = `connections/${randomUUID()}`;
  await store.write(path, { a: 'b' });
  await expect(store.read(path)).resolves.toMatchObject({ ref: { path, version: 1 } });
  expect(fake.calls.at(-1)?.token).toMatch(/^hvs\./);
  await expect(store.health()).resolves.toMatchObject({ ok: true });
});

it('uses the configured mount', async () => {
  const token = jwt();
  writeFileSync(jwtFile, token);
  fake.trustJwt(token);
  fake.addKubernetesRole(ROLE, { mount: 'k8s-prod' });
  const store = k8sStore({ kubernetes: { role: ROLE, mount: 'k8s-prod', jwtFile } });
  await store.start();
  expect(fake.calls.filter((c) => c.path.endsWith('/auth/k8s-prod/login'))).toHaveLength(1);
});

it('reports a role Vault does not know as denied', async () => {
  const token = jwt();
  writeFileSync(jwtFile, token);
  fake.trustJwt(token);
  fake.addKubernetesRole('another-role');
  const err = await expectReason(k8sStore().start(), 'denied');
  expectNoSecretsIn(err, [token]);
});

it('reports a JWT Vault does not accept as denied, without the JWT in the error or health', async () => {
  const token = jwt();
  writeFileSync(jwtFile, token);
  fake.addKubernetesRole(ROLE);
  const store = k8sStore();
  const err = await expectReason(store.start(), 'denied');
  expect((err as Error).message).toContain('Kubernetes login was refused');
  expectNoSecretsIn(err, [token]);
  const health = await store.health();
  expect(health).toMatchObject({ ok: false, reason: 'denied' });
  expect(JSON.stringify(health)).not.toContain(token);
});

it('reports a missing token file as denied, naming VAULT_K8S_TOKEN_FILE', async () => {
  fake.addKubernetesRole(ROLE);
  const err = await expectReason(k8sStore().start(), 'denied');
  expect((err as Error).message).toContain('VAULT_K8S_TOKEN_FILE');
  expect(logins()).toHaveLength(0);
});

it('re-reads the rotated JWT when it logs in again after a 403', async () => {
  const first = jwt();
  writeFileSync(jwtFile, first);
  fake.trustJwt(first);
  fake.addKubernetesRole(ROLE, { ttl: 3600 });
  const store = k8sStore();
  await store.start();
  const path = `connections/${randomUUID()}`;
  await store.write(path, { v: '1' });
  // The kubelet rotates the projected token; the old one stops being accepted.
  const second = jwt();
  writeFileSync(jwtFile, second);
  fake.trustJwt(second);
  fake.distrustJwt(first);
  fake.revokeToken(fake.calls.at(-1)?.token as string);
  await expect(store.read(path)).resolves.toMatchObject({ ref: { path, version: 1 } });
  expect(logins()).toHaveLength(2);
  expect(logins().map((c) => c.status)).toEqual([200, 200]);
});

it('renews its token and logs in again with the current JWT when max TTL caps the lease', async () => {
  const first = jwt();
  writeFileSync(jwtFile, first);
  fake.trustJwt(first);
  fake.addKubernetesRole(ROLE, { ttl: 1, maxTtl: 2 });
  const store = k8sStore();
  await store.start();
  const second = jwt();
  writeFileSync(jwtFile, second);
  fake.trustJwt(second);
  fake.distrustJwt(first);
  await eventually(() => logins().length >= 2, 5_000);
  expect(logins()[1].status).toBe(200);
  expect(fake.calls.some((c) => c.path.endsWith('/auth/token/renew-self'))).toBe(true);
  await expect(store.read(`connections/${randomUUID()}`)).resolves.toBeNull();
});
