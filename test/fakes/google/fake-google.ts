import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { type AddressInfo, type Socket } from 'node:net';
import { type GoogleAccount, GrantBook, grantedScopeNames, s256 } from './grants';

/**
 * An in-process Google OAuth 2.0 / OpenID Connect server for tests, written from Google's
 * documented wire format ("Using OAuth 2.0 for Web Server Applications", the OIDC userinfo
 * endpoint): the authorize page (auto-approves, or denies, or grants only some scopes), the token
 * endpoint (authorization_code with PKCE S256, refresh_token), revoke and userinfo. Errors come
 * back in Google's shape (`{"error":"invalid_grant","error_description":"Bad Request"}`).
 * Faults can be injected, and every call is recorded for assertions.
 */

export type ConsentMode = 'approve' | 'deny' | 'partial';

export type TokenFault =
  | { kind: 'status'; status: number }
  | { kind: 'garbage' }
  | { kind: 'no_refresh_token' }
  | { kind: 'delay'; ms: number }
  /** Takes the request and never answers (until the emulator closes), like a hung Google. */
  | { kind: 'hang' }
  | { kind: 'invalid_grant' }
  | { kind: 'invalid_client' };

export interface GoogleCall {
  method: string;
  path: string;
  query: Record<string, string>;
  form: Record<string, string>;
  authorization?: string;
  status?: number;
}

export interface FakeGoogle {
  url: string;
  clientId: string;
  clientSecret: string;
  /** The broker's GCP_* variables pointing at this emulator. */
  env(): Record<string, string>;
  calls: GoogleCall[];
  grants: GrantBook;
  /** What the next authorize does (stays until changed). */
  consent: ConsentMode;
  /** Who is signed in at the authorize page. */
  account: GoogleAccount;
  /** Added to every token call, like a distant Google (benchmarks, overlapping refreshes). */
  latencyMs: number;
  /** The next `times` token calls fail this way. */
  failToken(fault: TokenFault, times?: number): void;
  failRevoke(status: number, times?: number): void;
  /** Drops every fault not yet used. */
  clearFaults(): void;
  close(): Promise<void>;
}

const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';
const ACCESS_TOKEN_LIFETIME = 3599;

type Reply = { status: number; body?: unknown; headers?: Record<string, string>; raw?: string };

const oauthError = (status: number, error: string, description: string): Reply => ({
  status,
  body: { error, error_description: description },
});

export async function startFakeGoogle(
  options: { clientId?: string; clientSecret?: string; port?: number } = {},
): Promise<FakeGoogle> {
  const clientId = options.clientId ?? 'fake-client-123.apps.googleusercontent.com';
  const clientSecret = options.clientSecret ?? 'GOCSPX-fake-client-secret';
  const grants = new GrantBook();
  const calls: GoogleCall[] = [];
  const tokenFaults: TokenFault[] = [];
  const revokeFaults: number[] = [];
  const sockets = new Set<Socket>();

  const fake: FakeGoogle = {
    url: '',
    clientId,
    clientSecret,
    calls,
    grants,
    consent: 'approve',
    latencyMs: 0,
    account: { sub: '104857600000000000001', email: 'ada@example.com' },
    env: () => ({
      GCP_CLIENT_ID: clientId,
      GCP_CLIENT_SECRET: clientSecret,
      GCP_AUTH_URL: `${fake.url}/o/oauth2/v2/auth`,
      GCP_TOKEN_URL: `${fake.url}/token`,
      GCP_REVOKE_URL: `${fake.url}/revoke`,
      GCP_USERINFO_URL: `${fake.url}/v1/userinfo`,
    }),
    failToken: (fault, times = 1) => {
      for (let i = 0; i < times; i++) tokenFaults.push(fault);
    },
    failRevoke: (status, times = 1) => {
      for (let i = 0; i < times; i++) revokeFaults.push(status);
    },
    clearFaults: () => {
      tokenFaults.length = 0;
      revokeFaults.length = 0;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  function authorize(q: Record<string, string>): Reply {
    // Google shows its own error page, never redirecting, when the client or redirect is wrong.
    if (q.client_id !== clientId) return { status: 401, raw: 'Error 401: invalid_client' };
    if (!q.redirect_uri) return { status: 400, raw: 'Error 400: invalid_request' };
    if (q.response_type !== 'code') return { status: 400, raw: 'Error 400: invalid_request' };
    if (q.code_challenge_method && !['S256', 'plain'].includes(q.code_challenge_method)) {
      return { status: 400, raw: 'Error 400: invalid_request' };
    }
    const back = new URL(q.redirect_uri);
    if (q.state !== undefined) back.searchParams.set('state', q.state);
    if (fake.consent === 'deny') {
      back.searchParams.set('error', 'access_denied');
      return { status: 302, headers: { location: back.toString() } };
    }
    const requested = (q.scope ?? '').split(' ').filter(Boolean);
    const scopes = grantedScopeNames(
      fake.consent === 'partial' ? requested.filter((s) => s !== CLOUD_PLATFORM) : requested,
    );
    const code = grants.newCode({
      clientId,
      redirectUri: q.redirect_uri,
      scopes,
      codeChallenge: q.code_challenge,
      codeChallengeMethod: q.code_challenge_method,
      offline: q.access_type === 'offline',
      account: { ...fake.account },
    });
    back.searchParams.set('code', code);
    back.searchParams.set('scope', scopes.join(' '));
    back.searchParams.set('authuser', '0');
    back.searchParams.set('prompt', 'consent');
    return { status: 302, headers: { location: back.toString() } };
  }

  function clientFrom(req: IncomingMessage, form: Record<string, string>): Reply | undefined {
    let id = form.client_id;
    let secret = form.client_secret;
    const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
    if (basic) [id, secret] = Buffer.from(basic[1], 'base64').toString().split(':');
    if (id !== clientId)
      return oauthError(401, 'invalid_client', 'The OAuth client was not found.');
    if (secret !== clientSecret) return oauthError(401, 'invalid_client', 'Unauthorized');
    return undefined;
  }

  async function token(req: IncomingMessage, form: Record<string, string>): Promise<Reply> {
    const fault = tokenFaults.shift();
    if (fake.latencyMs > 0) await new Promise((r) => setTimeout(r, fake.latencyMs));
    if (fault?.kind === 'delay') await new Promise((r) => setTimeout(r, fault.ms));
    if (fault?.kind === 'hang') await new Promise<never>(() => undefined);
    if (fault?.kind === 'status')
      return oauthError(fault.status, 'internal_failure', 'Backend Error');
    if (fault?.kind === 'garbage') return { status: 200, raw: '<html><body>Bad Gateway' };
    if (fault?.kind === 'invalid_client') return oauthError(401, 'invalid_client', 'Unauthorized');
    if (fault?.kind === 'invalid_grant') return oauthError(400, 'invalid_grant', 'Bad Request');
    const clientProblem = clientFrom(req, form);
    if (clientProblem) return clientProblem;

    if (form.grant_type === 'authorization_code') {
      const code = grants.codes.get(form.code ?? '');
      if (!code || code.used || code.expiresAt <= Date.now()) {
        return oauthError(400, 'invalid_grant', 'Bad Request');
      }
      code.used = true; // single use, even when the rest of the request is wrong
      if (form.redirect_uri !== code.redirectUri) {
        return oauthError(400, 'redirect_uri_mismatch', 'Bad Request');
      }
      if (code.codeChallenge !== undefined) {
        if (!form.code_verifier) return oauthError(400, 'invalid_grant', 'Missing code verifier.');
        const expected =
          code.codeChallengeMethod === 'S256' ? s256(form.code_verifier) : form.code_verifier;
        if (expected !== code.codeChallenge) {
          return oauthError(400, 'invalid_grant', 'Invalid code verifier.');
        }
      }
      const grant = { clientId, account: code.account, scopes: code.scopes, revoked: false };
      const body: Record<string, unknown> = {
        access_token: grants.newAccessToken(grant, ACCESS_TOKEN_LIFETIME),
        expires_in: ACCESS_TOKEN_LIFETIME,
        scope: code.scopes.join(' '),
        token_type: 'Bearer',
      };
      if (code.offline && fault?.kind !== 'no_refresh_token') {
        body.refresh_token = grants.newRefreshToken(grant);
      }
      if (code.scopes.includes('openid')) body.id_token = grants.newIdToken(grant, clientId);
      return { status: 200, body, headers: { 'cache-control': 'no-cache, no-store' } };
    }
    if (form.grant_type === 'refresh_token') {
      const grant = grants.refreshTokens.get(form.refresh_token ?? '');
      if (!grant || grant.revoked) {
        return oauthError(400, 'invalid_grant', 'Token has been expired or revoked.');
      }
      // Google does not rotate refresh tokens: the answer has none.
      const body: Record<string, unknown> = {
        access_token: grants.newAccessToken(grant, ACCESS_TOKEN_LIFETIME),
        expires_in: ACCESS_TOKEN_LIFETIME,
        scope: grant.scopes.join(' '),
        token_type: 'Bearer',
      };
      if (grant.scopes.includes('openid')) body.id_token = grants.newIdToken(grant, clientId);
      return { status: 200, body };
    }
    return oauthError(
      400,
      'unsupported_grant_type',
      `Invalid grant_type: ${form.grant_type ?? ''}`,
    );
  }

  function revoke(q: Record<string, string>, form: Record<string, string>): Reply {
    const status = revokeFaults.shift();
    if (status !== undefined) return oauthError(status, 'internal_failure', 'Backend Error');
    const value = form.token ?? q.token ?? '';
    const grant = grants.refreshTokens.get(value) ?? grants.liveAccessToken(value)?.grant;
    if (!grant || grant.revoked) {
      return oauthError(400, 'invalid_token', 'Token expired or revoked');
    }
    grant.revoked = true; // revoking any token of a grant ends all of it
    return { status: 200, body: {} };
  }

  function userinfo(req: IncomingMessage): Reply {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const token = bearer ? grants.liveAccessToken(bearer) : undefined;
    if (!token) {
      return {
        ...oauthError(401, 'invalid_request', 'Invalid Credentials'),
        headers: {
          'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"',
        },
      };
    }
    const { account, scopes } = token.grant;
    const body: Record<string, unknown> = { sub: account.sub };
    if (scopes.includes('https://www.googleapis.com/auth/userinfo.email')) {
      Object.assign(body, { email: account.email, email_verified: true });
    }
    return { status: 200, body };
  }

  async function route(req: IncomingMessage, call: GoogleCall): Promise<Reply> {
    const { method, path, query, form } = call;
    if (method === 'GET' && path === '/o/oauth2/v2/auth') return authorize(query);
    if (method === 'POST' && path === '/token') return token(req, form);
    if (method === 'POST' && path === '/revoke') return revoke(query, form);
    if (method === 'GET' && path === '/v1/userinfo') return userinfo(req);
    return { status: 404, raw: 'Not Found' };
  }

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake-google');
      const isForm = (req.headers['content-type'] ?? '').startsWith(
        'application/x-www-form-urlencoded',
      );
      const call: GoogleCall = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        form: isForm
          ? Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString()))
          : {},
        authorization: req.headers.authorization,
      };
      calls.push(call);
      void route(req, call).then((reply) => {
        call.status = reply.status;
        const json = reply.raw === undefined;
        res.writeHead(reply.status, {
          'content-type': json ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8',
          ...reply.headers,
        });
        res.end(json ? JSON.stringify(reply.body ?? {}) : reply.raw);
      });
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}
