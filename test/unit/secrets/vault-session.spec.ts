import { randomUUID } from 'node:crypto';
import { VaultSecretStore } from '../../../src/secrets/vault/vault-secret-store';
import { startFakeVault, type FakeVault, type VaultCall } from '../../fakes/vault/fake-vault';
import { expectReason } from './secret-store.contract';
import { eventually, expectNoSecretsIn, sleep, vaultConfig } from './vault-support';

/** Token lifecycle: AppRole login, renewal before expiry, re-login at max TTL and after a 403. */

let fake: FakeVault;
const stores: VaultSecretStore[] = [];
const ROLE_ID = 'role-3f1c';
const SECRET_ID = `secret-id-${randomUUID()}`;

function appRoleStore(overrides: Parameters<typeof vaultConfig>[1] = {}): VaultSecretStore {
  const store = new VaultSecretStore(
    vaultConfig(fake, {
      token: undefined,
      appRole: { roleId: ROLE_ID, secretId: SECRET_ID, mount: 'approle' },
      ...overrides,
    }),
    { retryDelayMs: 200 },
  );
  stores.push(store);
  return store;
}

const callsTo = (suffix: string): VaultCall[] => fake.calls.filter((c) => c.path.endsWith(suffix));
const logins = (): VaultCall[] => callsTo('/auth/approle/login');
const renewals = (): VaultCall[] => callsTo('/auth/token/renew-self');

beforeEach(async () => {
  fake = await startFakeVault();
});

afterEach(async () => {
  for (const s of stores.splice(0)) await s.stop();
  await fake.close();
});

it('logs in with AppRole at start and uses that token, not sending one to the login', async () => {
  fake.addAppRole(ROLE_ID, SECRET_ID, { ttl: 3600 });
  const store = appRoleStore();
  await store.start();
  expect(logins()).toHaveLength(1);
  expect(logins()[0].token).toBeUndefined();
  const path = `connections/${randomUUID()}`;
  await store.write(path, { a: 'b' });
  const token = fake.calls.at(-1)?.token;
  expect(token).toMatch(/^hvs\./);
  expect(token).not.toBe(fake.rootToken);
  await expect(store.health()).resolves.toMatchObject({ ok: true });
});

it('renews a short-lived AppRole token before it expires, so it never lapses', async () => {
  fake.addAppRole(ROLE_ID, SECRET_ID, { ttl: 1 });
  const store = appRoleStore();
  await store.start();
  const token =
    logins().length === 1 ? fake.tokens.live().find((t) => t.id !== fake.rootToken) : undefined;
  // Without renewal a 1 s token is dead after 1 s; 2.5 s later it must still be the same live token.
  await sleep(2_500);
  expect(renewals().length).toBeGreaterThanOrEqual(2);
  expect(renewals().every((c) => c.token === token?.id)).toBe(true);
  expect(fake.tokens.valid(token?.id)).toBeDefined();
  expect(logins()).toHaveLength(1);
  await store.read(`connections/${randomUUID()}`);
});

it('logs in again when max TTL caps renewal', async () => {
  fake.addAppRole(ROLE_ID, SECRET_ID, { ttl: 1, maxTtl: 2 });
  const store = appRoleStore();
  await store.start();
  await eventually(() => logins().length >= 2, 4_000);
  expect(renewals().length).toBeGreaterThanOrEqual(1);
  // It saw the cap coming: no call (renewal included) was refused with the old token.
  expect(fake.calls.filter((c) => c.status === 403)).toEqual([]);
  await expect(store.health()).resolves.toMatchObject({ ok: true });
});

it('renews a renewable static token too', async () => {
  const token = fake.createToken({ ttl: 2 });
  const store = new VaultSecretStore(vaultConfig(fake, { token: token.id }));
  stores.push(store);
  await store.start();
  await sleep(2_500); // past the token's first 2 s
  expect(renewals().length).toBeGreaterThanOrEqual(1);
  expect(fake.tokens.valid(token.id)).toBeDefined();
});

it('logs in again after a 403 and retries the call once', async () => {
  fake.addAppRole(ROLE_ID, SECRET_ID, { ttl: 3600 });
  const store = appRoleStore();
  await store.start();
  const path = `connections/${randomUUID()}`;
  await store.write(path, { v: '1' });
  const first = fake.calls.at(-1)?.token as string;
  fake.revokeToken(first);
  await expect(store.read(path)).resolves.toMatchObject({ ref: { path, version: 1 } });
  expect(logins()).toHaveLength(2);
  const retried = fake.calls.filter((c) => c.path.endsWith(path));
  expect(retried.map((c) => c.token === first)).toEqual([true, true, false]); // write, 403, retry
});

it('shares one re-login among concurrent calls that all got a 403', async () => {
  fake.addAppRole(ROLE_ID, SECRET_ID, { ttl: 3600 });
  const store = appRoleStore();
  await store.start();
  fake.revokeToken(fake.tokens.live().find((t) => t.id !== fake.rootToken)?.id ?? '');
  await Promise.all(Array.from({ length: 5 }, () => store.read(`connections/${randomUUID()}`)));
  expect(logins()).toHaveLength(2);
});

it('reports a refused AppRole login as denied, without the secret id in the error', async () => {
  fake.addAppRole(ROLE_ID, 'another-secret-id');
  const store = appRoleStore();
  const err = await expectReason(store.start(), 'denied');
  expectNoSecretsIn(err, [SECRET_ID]);
  const health = await store.health();
  expect(health).toMatchObject({ ok: false, reason: 'denied' });
  expect(JSON.stringify(health)).not.toContain(SECRET_ID);
});

it('starts while Vault is down and logs in once it is back', async () => {
  fake.addAppRole(ROLE_ID, SECRET_ID, { ttl: 3600 });
  await fake.stop();
  const store = appRoleStore();
  await expect(store.start()).resolves.toBeUndefined();
  await expectReason(store.read(`connections/${randomUUID()}`), 'unavailable');
  await fake.start();
  await expect(store.read(`connections/${randomUUID()}`)).resolves.toBeNull();
  expect(logins()).toHaveLength(1);
});

it('stops renewing after stop()', async () => {
  fake.addAppRole(ROLE_ID, SECRET_ID, { ttl: 1 });
  const store = appRoleStore();
  await store.start();
  await store.stop();
  const before = fake.calls.length;
  await sleep(1_200);
  expect(fake.calls.length).toBe(before);
});
