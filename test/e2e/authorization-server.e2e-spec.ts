import { decodeJwt, decodeProtectedHeader } from 'jose';
import { type FakeGithub, startFakeGithub, verifiedGithubUser } from '../fakes/github/fake-github';
import { CookieJar, followSignIn } from '../fakes/identity-browser';
import { BrokerHarness } from '../support/broker';
import { approveDevice } from '../support/broker-oauth';
import { type FakeServer, sendJson, startFakeServer } from '../fakes/tls/emulator-server';
import { testCa } from '../fakes/tls/test-ca';
import { runBuilt } from '../support/processes';

interface Tokens {
  access_token: string;
  refresh_token?: string;
  expires_in: number;
  token_type: string;
  scope?: string;
  error?: string;
}

/**
 * The broker's own authorization server (SPEC §11) over HTTP: metadata, the device flow a CLI
 * runs (approved the way a person's browser would), rotating refresh tokens with replay
 * detection, client credentials for an admin's service client, dynamic registration, the
 * audience a token may be used for, key rotation, and no token value in Redis or Postgres.
 */
describe('authorization server (e2e)', () => {
  let github: FakeGithub;
  let broker: BrokerHarness;
  let metadataHost: FakeServer;
  const issued: string[] = [];
  const jar = new CookieJar();

  beforeAll(async () => {
    github = await startFakeGithub({
      users: [verifiedGithubUser(901, 'grace', 'Grace Hopper', 'grace@example.com')],
    });
    // A client ID metadata document is fetched over https: a host with the test CA.
    metadataHost = await startFakeServer((_req, res) => {
      sendJson(res, 200, {
        client_id: `${metadataHost.url}/client.json`,
        client_name: 'Agent by metadata document',
        redirect_uris: ['http://127.0.0.1:9/callback'],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
      });
    }, testCa());
    broker = await BrokerHarness.start({
      env: {
        ...github.env(),
        LOGIN_PROVIDERS: 'github',
        LOGIN_ALLOWED_USERS: 'grace',
        NODE_EXTRA_CA_CERTS: testCa().extraCaCerts,
      },
    });
    await followSignIn(`${broker.url}/auth/login?provider=github&redirect_to=/connect`, {
      cookieJar: jar,
    });
    expect(jar.get(broker.url, 'cbk_session')).toBeDefined();
  });
  afterAll(async () => {
    await broker?.close();
    await github?.close();
    await metadataHost?.close();
  });

  const form = (
    path: string,
    fields: Record<string, string>,
    headers: Record<string, string> = {},
  ) =>
    fetch(`${broker.url}${path}`, { method: 'POST', headers, body: new URLSearchParams(fields) });

  async function deviceTokens(
    scope = 'openid offline_access connections:read tokens:read',
  ): Promise<Tokens> {
    const start = (await (
      await form('/oauth/device/auth', { client_id: 'cbk-cli', scope, resource: broker.url })
    ).json()) as {
      device_code: string;
      verification_uri_complete: string;
      interval?: number;
    };
    const pending = (await (
      await form('/oauth/token', {
        grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
        device_code: start.device_code,
        client_id: 'cbk-cli',
      })
    ).json()) as Tokens;
    expect(pending.error).toBe('authorization_pending');
    const done = await approveDevice(start.verification_uri_complete, jar);
    expect(done.text).toContain('is signed in');
    const tokens = (await (
      await form('/oauth/token', {
        grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
        device_code: start.device_code,
        client_id: 'cbk-cli',
      })
    ).json()) as Tokens;
    issued.push(start.device_code, tokens.access_token, tokens.refresh_token ?? '');
    return tokens;
  }

  it('publishes RFC 8414 and OIDC discovery metadata with S256 only and the iss parameter', async () => {
    const rfc8414 = (await (
      await fetch(`${broker.url}/.well-known/oauth-authorization-server`)
    ).json()) as Record<string, unknown>;
    const oidc = (await (
      await fetch(`${broker.url}/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    expect(rfc8414).toEqual(oidc);
    expect(rfc8414).toMatchObject({
      issuer: broker.url,
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
      device_authorization_endpoint: `${broker.url}/oauth/device/auth`,
      registration_endpoint: `${broker.url}/oauth/register`,
      token_endpoint: `${broker.url}/oauth/token`,
      revocation_endpoint: `${broker.url}/oauth/revoke`,
      client_id_metadata_document_supported: true,
    });
    expect(rfc8414.grant_types_supported).toEqual(
      expect.arrayContaining([
        'authorization_code',
        'refresh_token',
        'client_credentials',
        'urn:ietf:params:oauth:grant-type:device_code',
      ]),
    );
    const jwks = (await (await fetch(`${broker.url}/oauth/jwks`)).json()) as {
      keys: Record<string, unknown>[];
    };
    expect(jwks.keys.length).toBeGreaterThan(0);
    for (const key of jwks.keys) expect(key).not.toHaveProperty('d');
  });

  it('runs the device flow: a JWT for the API audience that the API takes, limited by its scope', async () => {
    const tokens = await deviceTokens();
    expect(decodeProtectedHeader(tokens.access_token)).toMatchObject({
      alg: 'ES256',
      typ: 'at+jwt',
    });
    const claims = decodeJwt(tokens.access_token);
    expect(claims).toMatchObject({
      iss: broker.url,
      aud: broker.url,
      sub: 'github:901',
      client_id: 'cbk-cli',
    });
    expect((claims.exp as number) - (claims.iat as number)).toBeLessThanOrEqual(900);
    expect(String(claims.scope).split(' ')).toEqual(
      expect.arrayContaining(['connections:read', 'tokens:read']),
    );
    const list = await broker.request('/connections', { token: tokens.access_token });
    expect(list.status).toBe(200);
    // No connections:write in this token: a write is refused with the scope named.
    const write = await broker.request('/gcp/login', {
      method: 'POST',
      token: tokens.access_token,
      body: {},
    });
    expect(write.status).toBe(403);
    expect(write.body).toMatchObject({ code: 'forbidden' });
    // Admin routes never take these tokens.
    expect((await broker.request('/admin/queues', { token: tokens.access_token })).status).not.toBe(
      200,
    );
  });

  it('rotates refresh tokens and revokes the grant when an old one is replayed', async () => {
    const first = await deviceTokens();
    const refresh = (token: string) =>
      form('/oauth/token', {
        grant_type: 'refresh_token',
        refresh_token: token,
        client_id: 'cbk-cli',
        resource: broker.url,
      });
    const second = (await (await refresh(first.refresh_token as string)).json()) as Tokens;
    issued.push(second.access_token, second.refresh_token ?? '');
    expect(second.refresh_token).toBeDefined();
    expect(second.refresh_token).not.toBe(first.refresh_token);
    const replay = (await (await refresh(first.refresh_token as string)).json()) as Tokens;
    expect(replay.error).toBe('invalid_grant');
    // The replay ended the whole grant: the newer refresh token is dead too.
    const after = (await (await refresh(second.refresh_token as string)).json()) as Tokens;
    expect(after.error).toBe('invalid_grant');
  });

  it('refuses a token made for MCP at the API (audience), and garbage', async () => {
    const start = (await (
      await form('/oauth/device/auth', {
        client_id: 'cbk-cli',
        scope: 'connections:read',
        resource: `${broker.url}/mcp`,
      })
    ).json()) as { device_code: string; verification_uri_complete: string };
    await approveDevice(start.verification_uri_complete, jar);
    const tokens = (await (
      await form('/oauth/token', {
        grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
        device_code: start.device_code,
        client_id: 'cbk-cli',
      })
    ).json()) as Tokens;
    issued.push(tokens.access_token);
    expect(decodeJwt(tokens.access_token).aud).toBe(`${broker.url}/mcp`);
    const res = await broker.request('/connections', { token: tokens.access_token });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({
      code: 'unauthenticated',
      detail: 'the token was issued for another audience',
    });
    const forged = `${tokens.access_token.slice(0, -8)}AAAAAAAA`;
    expect((await broker.request('/connections', { token: forged })).status).toBe(401);
  });

  it('issues client-credentials tokens to an admin-made service client that acts for its user', async () => {
    const created = runBuilt('cli', broker.env, [
      'admin', 'client', 'create', '--name', 'ci', '--scopes', 'connections:read,tokens:read', '--for-user', 'github:901',
    ]); // prettier-ignore
    expect((await created.exited).code).toBe(0);
    const out = created.output();
    const secret = out.split('\n')[0].trim();
    const clientId = /client_id:\s+(\S+)/.exec(out)?.[1] as string;
    issued.push(secret);
    const basic = `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`;
    const res = await form(
      '/oauth/token',
      {
        grant_type: 'client_credentials',
        scope: 'connections:read tokens:read',
        resource: broker.url,
      },
      { authorization: basic },
    );
    const tokens = (await res.json()) as Tokens;
    expect([res.status, tokens.error]).toEqual([200, undefined]);
    issued.push(tokens.access_token);
    expect(decodeJwt(tokens.access_token)).toMatchObject({
      aud: broker.url,
      cbk_user: 'github:901',
      client_id: clientId,
    });
    expect((await broker.request('/connections', { token: tokens.access_token })).status).toBe(200);
    const wrong = await form(
      '/oauth/token',
      { grant_type: 'client_credentials', scope: 'tokens:read', resource: broker.url },
      {
        authorization: `Basic ${Buffer.from(`${clientId}:not-the-secret`).toString('base64')}`,
      },
    );
    expect(((await wrong.json()) as Tokens).error).toBe('invalid_client');
    const dump = await broker.dumpDatabase();
    expect(dump).toContain(clientId);
    expect(dump).not.toContain(secret);
  });

  it("registers clients dynamically (RFC 7591), keeping a confidential one's secret hashed", async () => {
    const pub = await fetch(`${broker.url}/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_name: 'An MCP client',
        redirect_uris: ['http://127.0.0.1:9/callback'],
        token_endpoint_auth_method: 'none',
      }),
    });
    expect(pub.status).toBe(201);
    const registered = (await pub.json()) as { client_id: string; client_secret?: string };
    expect(registered.client_secret).toBeUndefined();
    const confidential = (await (
      await fetch(`${broker.url}/oauth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          client_name: 'Confidential',
          redirect_uris: ['https://app.example.com/cb'],
          token_endpoint_auth_method: 'client_secret_basic',
        }),
      })
    ).json()) as { client_id: string; client_secret: string };
    issued.push(confidential.client_secret);
    const dump = await broker.dumpDatabase();
    expect(dump).toContain(registered.client_id);
    expect(dump).not.toContain(confidential.client_secret);
  });

  it('fetches client ID metadata documents, but never from a private address (SSRF)', async () => {
    // The library refuses special-use addresses (loopback, RFC 1918, link-local) before fetching,
    // so a client id naming one cannot make the broker call into its own network. Every host a
    // test may reach is such an address: the positive path needs a public host.
    const clientId = `${metadataHost.url}/client.json`;
    const authorize = new URL(`${broker.url}/oauth/authorize`);
    authorize.search = new URLSearchParams({
      client_id: clientId,
      redirect_uri: 'http://127.0.0.1:9/callback',
      response_type: 'code',
      scope: 'connections:read',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    }).toString();
    const res = await fetch(authorize, { redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('client_id metadata document fetch failed');
    expect(metadataHost.seen).toEqual([]);
  });

  it('rotates its signing key: a new replica signs with the new key, older tokens still verify', async () => {
    const before = await deviceTokens();
    const rotated = runBuilt('cli', broker.env, ['admin', 'rotate-signing-key']);
    expect((await rotated.exited).code).toBe(0);
    const kid = rotated.output().split('\n')[0].trim();
    // The replica is the same broker (its PUBLIC_URL, the issuer): only the process is new.
    const replica = await broker.startApi({ PUBLIC_URL: broker.url });
    const jwks = (await (await fetch(`${replica.url}/oauth/jwks`)).json()) as {
      keys: { kid: string }[];
    };
    expect(jwks.keys.map((k) => k.kid)).toEqual(
      expect.arrayContaining([kid, decodeProtectedHeader(before.access_token).kid]),
    );
    expect(
      (await broker.request('/connections', { token: before.access_token, base: replica.url }))
        .status,
    ).toBe(200);
    await replica.stop();
  });

  it('keeps no token value of its own in Redis or Postgres', async () => {
    const places = `${await broker.dumpRedis()}\n${await broker.dumpDatabase()}`;
    // The library's own session cookie is an id it stores too.
    const session = jar.get(`${broker.url}/oauth/authorize`, 'cbk_oauth_session');
    expect(session).toBeDefined();
    const values = [...issued, session ?? ''].filter((v) => v.length > 0);
    expect(values.length).toBeGreaterThan(8);
    const leaked = values.filter((v) => places.includes(v));
    const where = leaked.map((v) =>
      places
        .split('\n')
        .find((line) => line.includes(v))
        ?.slice(0, 160),
    );
    expect(where).toEqual([]);
  });
});
