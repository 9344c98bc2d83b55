import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
import { BrokerHarness } from '../support/broker';
import { createTestDatabase, withAdmin, databaseUrl } from '../support/postgres';
import { DIST, freePort, runBuilt, waitForHttp } from '../support/processes';

/** The built entrypoints as an operator runs them: config errors, migrations, worker, CLI, SIGTERM, Vault outages. */
describe('processes (e2e)', () => {
  let broker: BrokerHarness;

  beforeAll(async () => {
    broker = await BrokerHarness.start();
  });
  afterAll(() => broker.close());

  it('refuses to start on bad configuration, naming each variable, with exit code 78', async () => {
    const proc = runBuilt('main', {
      PORT: 'eighty',
      PUBLIC_URL: 'nope',
      AUTH_JWT_SECRET: 'short-secret-value',
    });
    const { code } = await proc.exited;
    expect(code).toBe(78);
    const out = proc.output();
    for (const expected of [
      'PORT must be a whole number',
      'PUBLIC_URL must be an absolute URL',
      'DATABASE_URL is required',
      'REDIS_URL is required',
      'AUTH_JWT_SECRET must be at least 32 characters',
      'LOCAL_SECRET_KEY is required',
    ]) {
      expect(out).toContain(expected);
    }
    expect(out).not.toContain('short-secret-value');
    const worker = runBuilt('worker', { ...broker.env, VAULT_ADDR: 'not a url' });
    expect((await worker.exited).code).toBe(78);
    expect(worker.output()).toContain('VAULT_ADDR must be an absolute URL');
  });

  it('migrates an empty database at api start when MIGRATIONS_RUN=true, and with npm run migration:run', async () => {
    const fresh = `${broker.db.name}_empty`;
    await withAdmin((c) => c.query(`CREATE DATABASE "${fresh}"`));
    const fresh2 = `${broker.db.name}_empty2`;
    await withAdmin((c) => c.query(`CREATE DATABASE "${fresh2}"`));
    try {
      const api = await broker.startApi({
        DATABASE_URL: databaseUrl(fresh),
        MIGRATIONS_RUN: 'true',
      });
      expect((await broker.request('/health/ready', { base: api.url })).status).toBe(200);
      await api.stop();
      const run = spawnSync(process.execPath, [join(DIST, 'src/database/migrate.js')], {
        env: { PATH: process.env.PATH ?? '', DATABASE_URL: databaseUrl(fresh2) },
        encoding: 'utf8',
      });
      expect(run.status).toBe(0);
      for (const db of [fresh, fresh2]) {
        const client = new Client({ connectionString: databaseUrl(db) });
        await client.connect();
        const { rows } = await client.query<{ t: string }>(
          `SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`,
        );
        await client.end();
        expect(rows.map((r) => r.t)).toEqual([
          'api_keys',
          'audit_events',
          'connections',
          'external_ids',
          'local_secrets',
          'migrations',
          'oauth_clients',
          'oauth_states',
          'pending_claims',
          'setup_runs',
          'webhook_events',
        ]);
      }
    } finally {
      await withAdmin(async (c) => {
        await c.query(`DROP DATABASE IF EXISTS "${fresh}" WITH (FORCE)`);
        await c.query(`DROP DATABASE IF EXISTS "${fresh2}" WITH (FORCE)`);
      });
    }
  });

  it('starts a worker that connects and reports ready on its probe port', async () => {
    const worker = await broker.startWorker();
    const ready = await fetch(`${worker.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ok' });
    expect((await fetch(`${worker.url}/metrics`)).status).toBe(200);
    const deadline = Date.now() + 5000;
    while (!worker.output().includes('worker ready') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(worker.output()).toContain('worker ready');
    const exit = await worker.stop('SIGTERM');
    expect(exit.code === 0 || exit.signal === 'SIGTERM').toBe(true);
  });

  it('creates an API key with the CLI that then works against the api, once printed', async () => {
    const create = runBuilt('cli', { DATABASE_URL: broker.db.url }, [
      'api-key',
      'create',
      '--name',
      'ci-key',
      '--scopes',
      'connections:read',
    ]);
    expect((await create.exited).code).toBe(0);
    const key = /cbk_[A-Za-z0-9_-]{43}/.exec(create.output())?.[0];
    expect(key).toBeDefined();
    const res = await broker.request('/connections', {
      token: key,
      headers: { 'x-on-behalf-of': 'u1' },
    });
    expect(res.status).toBe(200);
    const list = runBuilt('cli', { DATABASE_URL: broker.db.url }, ['api-key', 'list']);
    expect((await list.exited).code).toBe(0);
    expect(list.output()).toContain('ci-key');
    expect(list.output()).not.toContain(key);
    const bad = runBuilt('cli', { DATABASE_URL: broker.db.url }, [
      'api-key',
      'create',
      '--name',
      'x',
      '--scopes',
      'root',
    ]);
    expect((await bad.exited).code).toBe(2);
    expect(bad.output()).toContain('connections:read');
  });

  it('reports Vault sealed or down as not ready (503), keeps serving, and recovers', async () => {
    // /health/ready answers from a report cached about a second: wait it out after each change.
    const pastCache = () => new Promise((r) => setTimeout(r, 1_100));
    await pastCache();
    broker.vault.seal();
    await pastCache();
    const sealed = await broker.request('/health/ready');
    expect(sealed.status).toBe(503);
    expect(sealed.body).toMatchObject({
      status: 'unavailable',
      checks: { secret_store: { ok: false, reason: 'sealed' } },
    });
    broker.vault.unseal();
    await pastCache();
    expect((await broker.request('/health/ready')).status).toBe(200);
    await broker.vault.stop();
    await pastCache();
    const down = await broker.request('/health/ready');
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({
      checks: { secret_store: { ok: false, reason: 'unavailable' } },
    });
    expect((await broker.request('/health/live')).status).toBe(200);
    await broker.vault.start();
    await pastCache();
    expect((await broker.request('/health/ready')).status).toBe(200);
  });

  it('reports a denied Vault token as not ready', async () => {
    const port = await freePort();
    const proc = runBuilt('main', {
      ...broker.env,
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      VAULT_TOKEN: 'hvs.not-a-real-token-0000',
    });
    try {
      await waitForHttp(`http://127.0.0.1:${port}/health/live`, proc);
      const res = await fetch(`http://127.0.0.1:${port}/health/ready`);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({
        checks: { secret_store: { ok: false, reason: 'denied' } },
      });
      expect(proc.output()).not.toContain('hvs.not-a-real-token-0000');
    } finally {
      await proc.stop();
    }
  });

  it('shuts down cleanly and promptly on SIGTERM', async () => {
    const api = await broker.startApi();
    const token = await broker.userToken('shutdown-user');
    expect((await broker.request('/connections', { token, base: api.url })).status).toBe(200);
    const started = Date.now();
    const exit = await api.stop('SIGTERM');
    expect(exit.code === 0 || exit.signal === 'SIGTERM').toBe(true);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(api.output()).not.toContain('shutdown took longer');
  });

  it('never logs a token, key or Vault token', async () => {
    const token = await broker.userToken('log-check');
    const key = await broker.apiKey(['connections:read']);
    await broker.request('/connections?cursor=abc', { token });
    await broker.request('/connections', { token: key });
    await broker.request(`/connections?access_token=${token}`, { token: `${token}x` });
    const logs = broker.logs();
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of [token, key, broker.vault.rootToken]) expect(logs).not.toContain(secret);
  });
});

describe('test database isolation', () => {
  it('gives each test file its own migrated database', async () => {
    const a = await createTestDatabase();
    const b = await createTestDatabase();
    try {
      expect(a.name).not.toBe(b.name);
      const client = new Client({ connectionString: a.url });
      await client.connect();
      const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM migrations');
      await client.end();
      expect(Number(rows[0].n)).toBeGreaterThan(0);
    } finally {
      await a.drop();
      await b.drop();
    }
  });
});
