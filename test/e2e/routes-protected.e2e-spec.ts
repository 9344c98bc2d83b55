import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { type RouteOptions } from 'fastify';
import { loadConfig } from '../../src/config/config';
import { createApi } from '../../src/main';
import { type FakeVault, startFakeVault } from '../fakes/vault/fake-vault';
import { REDIS_URL } from '../support/broker';
import { type TestDatabase, createTestDatabase } from '../support/postgres';

/**
 * Every route needs a caller unless it is on this list. A new public route must be added here on
 * purpose, in review; any other route answering without credentials fails the test.
 */
const PUBLIC_ROUTES = new Set([
  'GET /health/live',
  'GET /health/ready',
  'GET /metrics',
  'GET /docs',
  'GET /docs/*',
  'GET /docs-json',
  'GET /docs-yaml',
  'GET /gcp/callback',
  'GET /ovh/callback',
  // Sign-in (SPEC §9): before a session exists, and the way out of one.
  'GET /auth/status',
  'GET /auth/login',
  'GET /auth/callback',
  'POST /auth/logout',
  // The connect page asks for sign-in itself (@OptionalCaller); its assets are static files;
  // signing out must work with an expired session. Its forms all need a caller.
  'GET /connect',
  'GET /connect/assets/:name',
  'POST /connect/logout',
  // The authorization server's interaction page asks for sign-in itself (@OptionalCaller), as
  // the connect page does; its Allow and Deny posts need a caller.
  'GET /oauth/interaction/:uid',
  // The MCP endpoint's protected resource metadata (RFC 9728): how a client without a token
  // finds the authorization server. /mcp itself answers 401 (it checks its tokens itself).
  'GET /.well-known/oauth-protected-resource',
  'GET /.well-known/oauth-protected-resource/mcp',
]);

describe('route protection (every route enumerated)', () => {
  let app: NestFastifyApplication;
  let db: TestDatabase;
  let vault: FakeVault;
  const routes: { method: string; url: string }[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    vault = await startFakeVault();
    const config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      PUBLIC_URL: 'http://127.0.0.1:1',
      FRONTEND_URL: 'http://127.0.0.1:2',
      DATABASE_URL: db.url,
      REDIS_URL,
      REDIS_PREFIX: `cbk_routes_${process.pid}`,
      VAULT_ADDR: vault.url,
      VAULT_TOKEN: vault.rootToken,
      AUTH_JWT_SECRET: 'r'.repeat(40),
      ADMIN_USER: 'admin',
      ADMIN_PASSWORD_HASH: '$2b$10$0123456789012345678901uJ5ptH2jK8QFv3hR3yq0l1cYH6mJ7y.',
    });
    app = await createApi(config);
    app
      .getHttpAdapter()
      .getInstance()
      .addHook('onRoute', (route: RouteOptions) => {
        const methods = Array.isArray(route.method) ? route.method : [route.method];
        for (const method of methods)
          if (method !== 'HEAD') routes.push({ method, url: route.url });
      });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  });

  afterAll(async () => {
    await app.close();
    await vault.close();
    await db.drop();
  });

  it('finds the routes (the enumeration itself works)', () => {
    const names = routes.map((r) => `${r.method} ${r.url}`);
    expect(names).toEqual(
      expect.arrayContaining(['GET /connections', 'GET /connections/:id', 'GET /health/live']),
    );
  });

  it('answers 401 without credentials on every route that is not explicitly public', async () => {
    const unprotected: string[] = [];
    for (const { method, url } of routes) {
      const name = `${method} ${url}`;
      if (PUBLIC_ROUTES.has(name)) continue;
      const path = url
        .replace(/:[A-Za-z_]+/g, '00000000-0000-4000-8000-000000000000')
        .replace('*', 'x');
      const res = await app.inject({
        method: method as 'GET',
        url: path,
        payload: method === 'GET' ? undefined : {},
      });
      if (res.statusCode !== 401) unprotected.push(`${name} -> ${res.statusCode}`);
    }
    expect(unprotected).toEqual([]);
  });

  it('keeps the public list honest: each listed route that exists answers without credentials', async () => {
    for (const { method, url } of routes) {
      if (!PUBLIC_ROUTES.has(`${method} ${url}`) || url.includes('*')) continue;
      const res = await app.inject({ method: method as 'GET', url });
      expect([url, res.statusCode === 401]).toEqual([url, false]);
    }
  });
});
