import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VaultSecretStore } from '../../../src/secrets/vault/vault-secret-store';
import { startFakeVault, type FakeVault } from '../../fakes/vault/fake-vault';
import { expectReason } from './secret-store.contract';
import { eventually, sleep, vaultConfig } from './vault-support';

/** VAULT_TOKEN_FILE: a token that Vault Agent or the Vault Secrets Operator rotates in place. */

let fake: FakeVault;
let dir: string;
let tokenFile: string;
const stores: VaultSecretStore[] = [];

function fileStore(initial: string): VaultSecretStore {
  const store = new VaultSecretStore(vaultConfig(fake, { token: initial, tokenFile }), {
    retryDelayMs: 200,
  });
  stores.push(store);
  return store;
}

/** Writes a token with an mtime that surely differs from the previous write's. */
function rotate(token: string, secondsAhead: number): void {
  writeFileSync(tokenFile, `${token}\n`);
  const t = Date.now() / 1000 + secondsAhead;
  utimesSync(tokenFile, t, t);
}

beforeEach(async () => {
  fake = await startFakeVault();
  dir = mkdtempSync(join(tmpdir(), 'cbk-token-'));
  tokenFile = join(dir, 'token');
});

afterEach(async () => {
  for (const s of stores.splice(0)) await s.stop();
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

it('re-reads the file after a 403 and retries the call once with the new token', async () => {
  const first = fake.createToken({ ttl: 3600 }).id;
  rotate(first, 0);
  const store = fileStore(first);
  await store.start();
  const path = `connections/${randomUUID()}`;
  await store.write(path, { v: '1' });
  const second = fake.createToken({ ttl: 3600 }).id;
  rotate(second, 5);
  fake.revokeToken(first);
  await expect(store.read(path)).resolves.toMatchObject({ ref: { path, version: 1 } });
  const onPath = fake.calls.filter((c) => c.path.endsWith(path));
  expect(onPath.at(-1)?.token).toBe(second);
});

it('picks a changed file up before use, without waiting for a 403', async () => {
  const first = fake.createToken({ ttl: 3600 }).id;
  rotate(first, 0);
  const store = fileStore(first);
  await store.start();
  const second = fake.createToken({ ttl: 3600 }).id;
  rotate(second, 5);
  await sleep(1_100); // past the once-a-second check
  const path = `connections/${randomUUID()}`;
  await store.write(path, { v: '1' });
  const onPath = fake.calls.filter((c) => c.path.endsWith(path));
  expect(onPath.map((c) => [c.token, c.status])).toEqual([[second, 200]]);
});

it('fails as denied when the file still holds the rejected token', async () => {
  const first = fake.createToken({ ttl: 3600 }).id;
  rotate(first, 0);
  const store = fileStore(first);
  await store.start();
  fake.revokeToken(first);
  await expectReason(store.read(`connections/${randomUUID()}`), 'denied');
  await expect(store.health()).resolves.toMatchObject({ ok: false, reason: 'denied' });
});

it('keeps renewing with the new token once the file has changed', async () => {
  const first = fake.createToken({ ttl: 1, renewable: true }).id;
  rotate(first, 0);
  const store = fileStore(first);
  await store.start();
  const second = fake.createToken({ ttl: 3600, renewable: true }).id;
  rotate(second, 5);
  fake.revokeToken(first);
  await eventually(
    () => fake.calls.some((c) => c.path.endsWith('/auth/token/renew-self') && c.token === second),
    5_000,
  );
});
