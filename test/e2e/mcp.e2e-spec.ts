import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { SignJWT, importJWK, type JWK } from 'jose';
import { type FakeGithub, startFakeGithub, verifiedGithubUser } from '../fakes/github/fake-github';
import { type FakeGoogle, startFakeGoogle } from '../fakes/google/fake-google';
import { CookieJar, followSignIn } from '../fakes/identity-browser';
import { BrokerHarness, NO_LEAKS, leaksIn } from '../support/broker';
import {
  type Authorization,
  type RegisteredClient,
  authorizeWithPkce,
  refreshTokens,
  registerPublicClient,
} from '../support/broker-oauth';
import {
  KV_MOUNT,
  type SeededGcp,
  type TokenBody,
  kvPath,
  refreshCalls,
  seedGcpConnection,
  setRow,
} from '../support/lifecycle-seed';
import { seedConnections } from '../support/seed';

const ALICE = 'github:1001';
const ALL_SCOPES = 'connections:read connections:write tokens:read';
/** Nothing listens there: the flow stops before requesting it and reads code, state and iss. */
const REDIRECT_URI = 'http://127.0.0.1:9/callback';

/**
 * The MCP endpoint (SPEC §12) against the built api: a token of the MCP audience got through
 * the broker's real authorization server (dynamic registration, code + PKCE S256 with
 * `resource`, the person signed in with the GitHub emulator and allowing on the consent page),
 * then the SDK's own client listing and calling every tool; the RFC 9728 challenges and
 * metadata; audience confusion both ways; the step-up 403; owner rules; the audit rows; and no
 * token value of the authorization server or the provider anywhere outside the secret store.
 */
describe('MCP endpoint (e2e)', () => {
  let github: FakeGithub;
  let google: FakeGoogle;
  let broker: BrokerHarness;
  let mcpUrl: string;
  let client: RegisteredClient;
  let full: Authorization;
  let readOnly: Authorization;
  let apiAudience: Authorization;
  let mine: SeededGcp;
  let othersId: string;
  const jar = new CookieJar();
  /** Every token value the authorization server issued (and every code it made). */
  const issued: string[] = [];
  /** Answers that must hold no secret (the tool results of get_access_token aside). */
  const answers: string[] = [];

  const remember = (a: Authorization) => {
    issued.push(
      a.code,
      a.tokens.access_token,
      ...(a.tokens.refresh_token ? [a.tokens.refresh_token] : []),
    );
    answers.push(...a.pages);
    return a;
  };

  beforeAll(async () => {
    github = await startFakeGithub({
      users: [verifiedGithubUser(1001, 'alice-gh', 'Alice', 'alice@example.com')],
    });
    google = await startFakeGoogle();
    broker = await BrokerHarness.start({
      env: {
        ...github.env(),
        ...google.env(),
        LOGIN_PROVIDERS: 'github',
        LOGIN_ALLOWED_USERS: 'alice-gh',
        REFRESH_WINDOW_SECONDS: '300',
      },
    });
    mcpUrl = `${broker.url}/mcp`;
    const signIn = await followSignIn(
      `${broker.url}/auth/login?provider=github&redirect_to=/connect`,
      { cookieJar: jar },
    );
    if (!jar.get(broker.url, 'cbk_session')) throw new Error(`sign-in failed: ${signIn.status}`);
    client = await registerPublicClient(broker.url, REDIRECT_URI);
    full = remember(
      await authorizeWithPkce(broker.url, jar, client, {
        resource: mcpUrl,
        scope: `${ALL_SCOPES} offline_access`,
      }),
    );
    readOnly = remember(
      await authorizeWithPkce(
        broker.url,
        jar,
        await registerPublicClient(broker.url, REDIRECT_URI, 'reader'),
        {
          resource: mcpUrl,
          scope: 'connections:read',
        },
      ),
    );
    apiAudience = remember(
      await authorizeWithPkce(broker.url, jar, client, { resource: broker.url, scope: ALL_SCOPES }),
    );
    mine = await seedGcpConnection(broker, google, { userId: ALICE, expiresInSeconds: 3600 });
    [{ id: othersId }] = await seedConnections(broker.dataSource, [{ userId: 'github:2002' }]);
  });

  afterAll(async () => {
    await broker?.close();
    await Promise.all([github?.close(), google?.close()]);
  });

  async function connect(token: string): Promise<Client> {
    const mcp = new Client({ name: 'e2e', version: '1.0.0' });
    await mcp.connect(
      new StreamableHTTPClientTransport(new URL(mcpUrl), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    return mcp;
  }

  function jsonOf(result: unknown): unknown {
    const { content } = result as CallToolResult;
    expect(content).toHaveLength(1);
    const [first] = content;
    if (first.type !== 'text') throw new Error(`not text: ${first.type}`);
    answers.push(first.text);
    return JSON.parse(first.text);
  }

  /** A raw JSON-RPC POST, for what the SDK client hides (status, headers). */
  async function rpc(
    body: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; headers: Headers; text: string }> {
    const res = await fetch(mcpUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...headers,
      },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    answers.push(text);
    return { status: res.status, headers: res.headers, text };
  }

  const callTool = (name: string, args: Record<string, unknown>) => ({
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/call',
    params: { name, arguments: args },
  });
  const metadataUrl = () => `${broker.url}/.well-known/oauth-protected-resource/mcp`;

  it('got its tokens from the authorization server: iss on the redirect, the MCP audience', () => {
    expect(full.iss).toBe(broker.url); // RFC 9207
    const claims = JSON.parse(
      Buffer.from(full.tokens.access_token.split('.')[1], 'base64url').toString(),
    ) as Record<string, unknown>;
    expect(claims).toMatchObject({
      iss: broker.url,
      aud: mcpUrl,
      sub: ALICE,
      client_id: client.client_id,
    });
    expect((claims.scope as string).split(' ').sort()).toEqual(
      expect.arrayContaining(ALL_SCOPES.split(' ')),
    );
    expect(full.tokens.refresh_token).toEqual(expect.any(String));
    expect(full.tokens.expires_in).toBeLessThanOrEqual(900);
  });

  it('serves the protected resource metadata (RFC 9728) at both paths, publicly', async () => {
    const expected = {
      resource: mcpUrl,
      authorization_servers: [broker.url],
      scopes_supported: ['connections:read', 'connections:write', 'tokens:read'],
      bearer_methods_supported: ['header'],
    };
    for (const path of [
      '/.well-known/oauth-protected-resource/mcp',
      '/.well-known/oauth-protected-resource',
    ]) {
      const res = await broker.request(path);
      expect([path, res.status, res.body]).toEqual([path, 200, expected]);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    }
    // … and the authorization server it names publishes its own metadata.
    const as = await broker.request('/.well-known/oauth-authorization-server');
    expect(as.body).toMatchObject({
      issuer: broker.url,
      registration_endpoint: `${broker.url}/oauth/register`,
    });
  });

  it('answers 401 with the metadata URL without a token, and invalid_token for a bad one', async () => {
    const init = { jsonrpc: '2.0', id: 0, method: 'tools/list' };
    const none = await rpc(init);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${metadataUrl()}"`,
    );
    expect(none.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(none.text)).toMatchObject({ status: 401, code: 'unauthenticated' });

    // A garbage token, and ours with its signature tampered with (an expired one: below).
    const [h, p, s] = full.tokens.access_token.split('.');
    const tampered = `${h}.${p}.${s.slice(0, -4)}${s.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    for (const token of ['garbage', tampered]) {
      const res = await rpc(init, { authorization: `Bearer ${token}` });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe(
        `Bearer error="invalid_token", error_description="the token is not valid", resource_metadata="${metadataUrl()}"`,
      );
    }
    for (const method of ['GET', 'DELETE']) {
      const res = await fetch(mcpUrl, { method });
      expect([method, res.status]).toEqual([method, 401]);
      expect(res.headers.get('www-authenticate')).toContain('resource_metadata=');
    }
  });

  it('refuses an expired token of its own keys as expired', async () => {
    // Waiting out OAUTH_ACCESS_TOKEN_TTL_SECONDS is too slow: sign one with the server's key.
    const stored = broker.vault.kv.get(KV_MOUNT, kvPath('authorization-server/keys'));
    const data = stored?.versions.get(stored.currentVersion)?.data as { signing: string };
    const [jwk] = JSON.parse(data.signing) as (JWK & { kid: string })[];
    const expired = await new SignJWT({ scope: ALL_SCOPES, client_id: client.client_id })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: jwk.kid })
      .setIssuer(broker.url)
      .setAudience(mcpUrl)
      .setSubject(ALICE)
      .setIssuedAt(Math.floor(Date.now() / 1000) - 1000)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 100)
      .sign(await importJWK(jwk, 'ES256'));
    issued.push(expired);
    const res = await rpc(callTool('list_connections', {}), { authorization: `Bearer ${expired}` });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer error="invalid_token", error_description="the token has expired", resource_metadata="${metadataUrl()}"`,
    );
  });

  it('takes no other credential: API-audience token, user JWT, API key, session cookie', async () => {
    const init = { jsonrpc: '2.0', id: 0, method: 'tools/list' };
    const apiToken = await rpc(init, {
      authorization: `Bearer ${apiAudience.tokens.access_token}`,
    });
    expect(apiToken.status).toBe(401);
    expect(apiToken.headers.get('www-authenticate')).toContain(
      'error_description="the token was issued for another audience"',
    );
    const userJwt = await rpc(init, { authorization: `Bearer ${await broker.userToken(ALICE)}` });
    expect(userJwt.status).toBe(401);
    const key = await broker.apiKey(['connections:read', 'tokens:read']);
    issued.push(key);
    const apiKey = await rpc(init, { authorization: `Bearer ${key}`, 'x-on-behalf-of': ALICE });
    expect(apiKey.status).toBe(401);
    expect(apiKey.headers.get('www-authenticate')).toContain('error="invalid_token"');
    const cookie = jar.header(mcpUrl) ?? '';
    expect(cookie).toContain('cbk_session=');
    const session = await rpc(init, { cookie, origin: broker.url });
    expect(session.status).toBe(401);
    expect(session.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${metadataUrl()}"`,
    );
  });

  it('keeps the MCP token out of the API (the other direction of audience confusion)', async () => {
    const res = await broker.request('/connections', { token: full.tokens.access_token });
    expect(res.status).toBe(401);
    answers.push(res.text);
    // … while the API-audience token of the same grant works there.
    const ok = await broker.request('/connections', { token: apiAudience.tokens.access_token });
    expect(ok.status).toBe(200);
  });

  it('lists the tools and calls each with the SDK client', async () => {
    const mcp = await connect(full.tokens.access_token);
    try {
      const { tools } = await mcp.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual([
        'get_access_token',
        'get_connection',
        'list_connections',
        'refresh_connection',
      ]);
      const get = tools.find((t) => t.name === 'get_access_token');
      expect(get?.inputSchema.required).toEqual(['connection_id']);

      const list = jsonOf(await mcp.callTool({ name: 'list_connections', arguments: {} })) as {
        items: { id: string }[];
        next_cursor: string | null;
      };
      expect(list.items.map((c) => c.id)).toEqual([mine.connection.id]);
      const filtered = jsonOf(
        await mcp.callTool({ name: 'list_connections', arguments: { provider: 'azure' } }),
      ) as { items: unknown[] };
      expect(filtered.items).toEqual([]);

      const one = jsonOf(
        await mcp.callTool({
          name: 'get_connection',
          arguments: { connection_id: mine.connection.id },
        }),
      );
      expect(one).toMatchObject({ id: mine.connection.id, provider: 'gcp', status: 'active' });
      expect(JSON.stringify(one)).not.toContain(mine.accessToken);

      const tokenResult = await mcp.callTool({
        name: 'get_access_token',
        arguments: { connection_id: mine.connection.id },
      });
      expect(tokenResult.isError).toBeFalsy();
      const { content } = tokenResult as CallToolResult;
      const token = JSON.parse((content[0] as { text: string }).text) as Record<string, unknown>;
      // The same object as GET /connections/:id/token.
      const http = await broker.request(`/connections/${mine.connection.id}/token`, {
        token: apiAudience.tokens.access_token,
      });
      expect(http.status).toBe(200);
      expect(token).toEqual(http.body);
      expect(token).toEqual({
        access_token: mine.accessToken,
        token_type: 'Bearer',
        expires_at: mine.connection.expiresAt?.toISOString(),
        scope: mine.connection.scopes.join(' '),
      });

      const refreshed = jsonOf(
        await mcp.callTool({
          name: 'refresh_connection',
          arguments: { connection_id: mine.connection.id },
        }),
      ) as { expires_at: string; refreshed_at: string };
      expect(refreshed.refreshed_at).toEqual(expect.any(String));
      expect(Date.parse(refreshed.expires_at)).toBeGreaterThan(Date.now());
    } finally {
      await mcp.close();
    }
  });

  it('get_access_token refreshes first inside the refresh window, like the HTTP read', async () => {
    await setRow(broker, mine.connection.id, { expiresAt: new Date(Date.now() + 60_000) });
    const before = refreshCalls(google);
    const mcp = await connect(full.tokens.access_token);
    try {
      const result = await mcp.callTool({
        name: 'get_access_token',
        arguments: { connection_id: mine.connection.id },
      });
      const { content } = result as CallToolResult;
      const token = JSON.parse((content[0] as { text: string }).text) as TokenBody;
      expect(refreshCalls(google)).toBe(before + 1);
      expect(token.access_token).not.toBe(mine.accessToken);
      expect(Date.parse(token.expires_at)).toBeGreaterThan(Date.now() + 300_000);
    } finally {
      await mcp.close();
    }
  });

  it('answers another user’s connection id (and a malformed one) with a not_found tool error', async () => {
    const mcp = await connect(full.tokens.access_token);
    try {
      for (const id of [othersId, 'not-a-uuid']) {
        for (const name of ['get_connection', 'get_access_token', 'refresh_connection']) {
          const result = await mcp.callTool({ name, arguments: { connection_id: id } });
          expect([name, result.isError]).toEqual([name, true]);
          expect(jsonOf(result)).toMatchObject({
            status: 404,
            code: 'not_found',
            detail: 'No such connection',
          });
        }
      }
    } finally {
      await mcp.close();
    }
  });

  it('answers a tool call without its scope with 403 insufficient_scope (step-up)', async () => {
    const res = await rpc(callTool('get_access_token', { connection_id: mine.connection.id }), {
      authorization: `Bearer ${readOnly.tokens.access_token}`,
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer error="insufficient_scope", error_description="this call needs the scope tokens:read", scope="tokens:read", resource_metadata="${metadataUrl()}"`,
    );
    expect(JSON.parse(res.text)).toMatchObject({ status: 403, code: 'forbidden' });

    // Through the SDK client: the reader lists and reads, and is refused the token and refresh.
    const mcp = await connect(readOnly.tokens.access_token);
    try {
      const list = jsonOf(await mcp.callTool({ name: 'list_connections', arguments: {} })) as {
        items: unknown[];
      };
      expect(list.items).toHaveLength(1);
      for (const name of ['get_access_token', 'refresh_connection']) {
        const refused = await mcp
          .callTool({ name, arguments: { connection_id: mine.connection.id } })
          .then(
            () => undefined,
            (err: unknown) => err,
          );
        expect(refused).toBeInstanceOf(StreamableHTTPError);
        expect((refused as StreamableHTTPError).code).toBe(403);
      }
    } finally {
      await mcp.close();
    }
  });

  it('answers GET and DELETE 405 for a valid token: the endpoint is stateless', async () => {
    for (const method of ['GET', 'DELETE']) {
      const res = await fetch(mcpUrl, {
        method,
        headers: {
          authorization: `Bearer ${full.tokens.access_token}`,
          accept: 'text/event-stream',
        },
      });
      expect([method, res.status, res.headers.get('allow')]).toEqual([method, 405, 'POST']);
    }
  });

  it('rotates refresh tokens: the new one works, the used one no longer', async () => {
    const first = full.tokens.refresh_token as string;
    const next = await refreshTokens(broker.url, client, first, mcpUrl);
    expect(next.status).toBe(200);
    const tokens = next.tokens!;
    issued.push(tokens.access_token, tokens.refresh_token as string);
    expect(tokens.refresh_token).not.toBe(first);
    const mcp = await connect(tokens.access_token);
    await mcp.listTools();
    await mcp.close();
    const again = await refreshTokens(broker.url, client, first, mcpUrl);
    expect(again.status).toBe(400);
    answers.push(JSON.stringify(again.body));
    // POST /oauth/revoke (RFC 7009), as docs/mcp.md tells a person to: the grant's refresh ends.
    const revoke = await fetch(`${broker.url}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        token: tokens.refresh_token as string,
        client_id: client.client_id,
      }),
    });
    expect(revoke.status).toBe(200);
    const revoked = await refreshTokens(broker.url, client, tokens.refresh_token as string, mcpUrl);
    expect(revoked.status).toBe(400);
  });

  it('says needs_reauth in words when the provider no longer takes the connection', async () => {
    await setRow(broker, mine.connection.id, { status: 'needs_reauth' });
    const mcp = await connect(full.tokens.access_token);
    try {
      const result = await mcp.callTool({
        name: 'get_access_token',
        arguments: { connection_id: mine.connection.id },
      });
      expect(result.isError).toBe(true);
      expect(jsonOf(result)).toMatchObject({
        status: 409,
        code: 'needs_reauth',
        detail: 'The provider no longer accepts this connection; its owner must connect it again',
      });
    } finally {
      await mcp.close();
      await setRow(broker, mine.connection.id, { status: 'active' });
    }
  });

  it('audits every tool call (who, which client, which connection, how it ended), never a token', async () => {
    const rows = await broker.dataSource.query<
      {
        actor_type: string;
        actor_id: string;
        connection_id: string | null;
        outcome: string;
        error_code: string | null;
        details: { tool: string; client_id: string };
      }[]
    >(`SELECT * FROM audit_events WHERE action = 'mcp.tool_call' ORDER BY occurred_at`);
    const summary = rows.map((r) =>
      `${r.details.tool} ${r.connection_id ?? '-'} ${r.outcome} ${r.error_code ?? ''}`.trim(),
    );
    expect(summary).toEqual(
      expect.arrayContaining([
        `list_connections - success`,
        `get_connection ${mine.connection.id} success`,
        `get_access_token ${mine.connection.id} success`,
        `refresh_connection ${mine.connection.id} success`,
        `get_access_token ${othersId} failure not_found`,
        `get_connection - failure not_found`,
        `get_access_token ${mine.connection.id} failure needs_reauth`,
      ]),
    );
    expect(new Set(rows.map((r) => `${r.actor_type}:${r.actor_id}`))).toEqual(
      new Set([`user:${ALICE}`]),
    );
    const reader = decodeClient(readOnly);
    expect(new Set(rows.map((r) => r.details.client_id))).toEqual(
      new Set([client.client_id, reader]),
    );
    // The 403s never reached a tool: the reader's only rows are its lists.
    expect(rows.filter((r) => r.details.client_id === reader).map((r) => r.details.tool)).toEqual([
      'list_connections',
    ]);
  });

  it('leaves no token value of the authorization server, nor the provider’s, outside the browser and Vault', async () => {
    const secrets = [...issued, mine.accessToken, mine.refreshToken, ...google.grants.allSecrets()];
    const places = await broker.placesOutsideVault(answers);
    expect(leaksIn(places, secrets)).toEqual(NO_LEAKS);
  });
});

function decodeClient(a: Authorization): string {
  const claims = JSON.parse(
    Buffer.from(a.tokens.access_token.split('.')[1], 'base64url').toString(),
  ) as { client_id: string };
  return claims.client_id;
}
