import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { type AddressInfo } from 'node:net';
import { VaultSecretStore } from '../../../src/secrets/vault/vault-secret-store';
import { startFakeVault, type FakeVault } from '../../fakes/vault/fake-vault';
import { describeSecretStoreContract, expectReason } from './secret-store.contract';
import { expectNoSecretsIn, sleep, vaultConfig } from './vault-support';

let fake: FakeVault;
const stores: VaultSecretStore[] = [];

function makeStore(overrides: Parameters<typeof vaultConfig>[1] = {}): VaultSecretStore {
  const store = new VaultSecretStore(vaultConfig(fake, overrides));
  stores.push(store);
  return store;
}

beforeAll(async () => {
  fake = await startFakeVault();
});

afterAll(async () => {
  for (const s of stores) await s.stop();
  await fake.close();
});

describeSecretStoreContract('vault', async () => {
  const store = makeStore();
  await store.start();
  return store;
});

describe('VaultSecretStore', () => {
  afterEach(async () => {
    fake.unseal();
    fake.hang(false);
    await fake.start(); // a no-op unless a test stopped it
  });

  it('speaks KV v2 under <mount>/data/<prefix>/ and LISTs as GET ?list=1', async () => {
    const store = makeStore();
    const id = randomUUID();
    await store.write(`connections/${id}`, { access_token: 'ya29.abc' }, { cas: 0 });
    await store.list('connections');
    const write = fake.calls.find((c) => c.path.includes(id));
    expect(write).toMatchObject({
      method: 'POST',
      path: `/v1/secret/data/credential-broker/connections/${id}`,
    });
    expect(fake.values()).toContainEqual({
      mount: 'secret',
      path: `credential-broker/connections/${id}`,
      version: 1,
      data: { access_token: 'ya29.abc' },
    });
    expect(fake.calls.at(-1)).toMatchObject({
      method: 'GET',
      path: '/v1/secret/metadata/credential-broker/connections',
      query: '?list=1',
    });
  });

  it('sends the namespace header when VAULT_NAMESPACE is set', async () => {
    const store = makeStore({ namespace: 'team-a' });
    await store.read(`connections/${randomUUID()}`);
    expect(fake.calls.at(-1)?.namespace).toBe('team-a');
  });

  it('reads a deleted or destroyed version as null, other versions still readable', async () => {
    const store = makeStore();
    const path = `connections/${randomUUID()}`;
    await store.write(path, { v: '1' });
    await store.write(path, { v: '2' });
    await store.write(path, { v: '3' });
    fake.kv.destroyVersions('secret', `credential-broker/${path}`, [1]);
    fake.kv.softDeleteLatest('secret', `credential-broker/${path}`);
    expect(await store.read(path, 1)).toBeNull();
    expect(await store.read(path, 3)).toBeNull();
    expect(await store.read(path)).toBeNull();
    expect((await store.read(path, 2))?.reveal()).toEqual({ v: '2' });
  });

  it('reports a sealed Vault in health and as sealed on reads', async () => {
    const store = makeStore();
    fake.seal();
    await expect(store.health()).resolves.toMatchObject({
      ok: false,
      kind: 'vault',
      reason: 'sealed',
    });
    await expectReason(store.read(`connections/${randomUUID()}`), 'sealed');
    await expectReason(store.write(`connections/${randomUUID()}`, { a: 'b' }), 'sealed');
    fake.unseal();
    await expect(store.health()).resolves.toMatchObject({ ok: true });
  });

  it('reports a Vault that is down as unavailable, without crashing or leaking rejections', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const store = makeStore();
      await store.start();
      await fake.stop();
      await expect(store.health()).resolves.toMatchObject({ ok: false, reason: 'unavailable' });
      await expectReason(store.read(`connections/${randomUUID()}`), 'unavailable');
      await expectReason(store.write(`connections/${randomUUID()}`, { a: 'b' }), 'unavailable');
      await expectReason(store.destroy(`connections/${randomUUID()}`), 'unavailable');
      await expectReason(store.list('connections'), 'unavailable');
      await sleep(50);
      await fake.start();
      await expect(store.health()).resolves.toMatchObject({ ok: true });
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });

  it('gives up after VAULT_TIMEOUT_MS when Vault does not answer', async () => {
    const store = makeStore({ timeoutMs: 200 });
    fake.hang(true);
    const started = Date.now();
    await expectReason(store.read(`connections/${randomUUID()}`), 'unavailable');
    await expect(store.health()).resolves.toMatchObject({ ok: false, reason: 'unavailable' });
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('gives up after VAULT_TIMEOUT_MS when Vault answers but trickles its body', async () => {
    // Headers at once, then a byte every 50 ms: an idle timer alone would never fire.
    const timers: NodeJS.Timeout[] = [];
    const trickler = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{');
      timers.push(setInterval(() => res.write(' '), 50));
    });
    await new Promise<void>((resolve) => trickler.listen(0, '127.0.0.1', resolve));
    const { port } = trickler.address() as AddressInfo;
    try {
      const store = makeStore({ addr: `http://127.0.0.1:${port}`, timeoutMs: 300 });
      const started = Date.now();
      const err = await expectReason(store.read(`connections/${randomUUID()}`), 'unavailable');
      expect(String((err as Error).message)).toContain('ETIMEDOUT');
      expect(Date.now() - started).toBeLessThan(1_500);
    } finally {
      for (const t of timers) clearInterval(t);
      trickler.closeAllConnections();
      await new Promise((resolve) => trickler.close(resolve));
    }
  });

  it('reports a token Vault refuses as denied, at start, in health and on calls', async () => {
    const token = fake.createToken({ ttl: 3600 }).id;
    fake.revokeToken(token);
    const store = makeStore({ token });
    const err = await expectReason(store.start(), 'denied');
    expectNoSecretsIn(err, [token]);
    await expect(store.health()).resolves.toMatchObject({ ok: false, reason: 'denied' });
    const readErr = await expectReason(store.read(`connections/${randomUUID()}`), 'denied');
    expectNoSecretsIn(readErr, [token]);
  });

  it('keeps tokens and secret values out of every error', async () => {
    const token = fake.createToken({ ttl: 3600 }).id;
    const store = makeStore({ token });
    const path = `connections/${randomUUID()}`;
    const value = `ya29.${randomUUID()}`;
    await store.write(path, { access_token: value });
    const cas = await expectReason(
      store.write(path, { access_token: value }, { cas: 0 }),
      'cas_mismatch',
    );
    fake.seal();
    const sealed = await expectReason(store.write(path, { access_token: value }), 'sealed');
    fake.unseal();
    await fake.stop();
    const down = await expectReason(store.write(path, { access_token: value }), 'unavailable');
    await fake.start();
    fake.revokeToken(token);
    const denied = await expectReason(store.read(path), 'denied');
    for (const err of [cas, sealed, down, denied]) expectNoSecretsIn(err, [token, value]);
  });

  it('reads with ?version=N', async () => {
    const store = makeStore();
    const path = `connections/${randomUUID()}`;
    await store.write(path, { v: '1' });
    await store.read(path, 1);
    expect(fake.calls.at(-1)?.query).toBe('?version=1');
  });
});

describe('VaultSecretStore debug output', () => {
  // The `debug` module node-vault uses by default; typed here as much as the test needs.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- `debug` ships no types
  const createDebug = require('debug') as {
    enable(namespaces: string): void;
    disable(): string;
    log: (...args: unknown[]) => void;
  };
  let original: (...args: unknown[]) => void;
  const printed: string[] = [];

  beforeEach(() => {
    original = createDebug.log;
    createDebug.log = (...args: unknown[]) => printed.push(args.map(String).join(' '));
    createDebug.enable('node-vault');
  });
  afterEach(() => {
    createDebug.disable();
    createDebug.log = original;
  });

  it('prints nothing with DEBUG=node-vault, so no secret reaches stderr', async () => {
    const store = makeStore();
    const id = randomUUID();
    await store.write(`connections/${id}`, { refresh_token: '1//debug-leak-probe' }, { cas: 0 });
    await store.read(`connections/${id}`);
    expect(printed.join('\n')).not.toContain('debug-leak-probe');
    expect(printed).toEqual([]);
  });
});
