import { createHash, randomBytes } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { type AddressInfo, type Socket } from 'node:net';

/**
 * An in-process GitHub for the broker's "Sign in with GitHub", written from GitHub's documented
 * wire format: "Authorizing OAuth apps" (the web application flow: `GET /login/oauth/authorize`,
 * `POST /login/oauth/access_token` with PKCE S256), "Troubleshooting OAuth app access token
 * request errors", and the REST endpoints "Get the authenticated user" (`GET /user`) and "List
 * email addresses for the authenticated user" (`GET /user/emails`). The REST API is served under
 * `/api/v3` of the same server, as GitHub Enterprise Server does (`apiUrl`).
 *
 * GitHub's quirk that the broker must handle: the token endpoint answers its errors with HTTP
 * **200** (`{"error":"bad_verification_code","error_description":…,"error_uri":…}`), as JSON when
 * the request said `Accept: application/json`, else as `application/x-www-form-urlencoded`
 * (successes likewise). openid-client v6 does not read such a body as an OAuth error:
 * `authorizationCodeGrant` throws a `client.ClientError` with `message: 'invalid response
 * encountered'` and `code: 'OAUTH_INVALID_RESPONSE'`, whose `cause` is oauth4webapi's
 * `OperationProcessingError` ('"response" body "access_token" property must be a string') whose
 * own `cause.body` is GitHub's body (`err.cause.cause.body.error === 'bad_verification_code'`).
 * It is never a `ResponseBodyError` (that is for non-200 answers), so the broker must treat any
 * throw of the grant as `exchange_failed`, and may read `cause.cause.body.error` for its log.
 * A non-JSON answer (the `garbage` fault, or a form-encoded one to a client that did not send
 * `Accept: application/json`; openid-client always sends it) throws a ClientError with
 * `code: 'OAUTH_RESPONSE_IS_NOT_JSON'`; an HTTP 5xx with an HTML body
 * `OAUTH_RESPONSE_IS_NOT_CONFORM` (the Response is the `cause`). Tokens come back with
 * `token_type: "bearer"` (lower case) and a comma-separated `scope`. See github.spec.ts.
 *
 * Consent: `auto` redirects straight back (fetch-driven tests), `page` shows an "Authorize <app>"
 * page whose `Authorize` / `Cancel` buttons post back here (browser tests). Every request is
 * recorded in `calls`; faults can be injected on the token endpoint and the API.
 */

export type GithubConsent = 'auto' | 'page';

export interface GithubEmail {
  email: string;
  primary: boolean;
  verified: boolean;
  visibility: 'public' | 'private' | null;
}

export interface GithubUser {
  id: number;
  login: string;
  name: string | null;
  emails: GithubEmail[];
}

export type GithubTokenFault =
  'status' | 'bad_verification_code' | 'incorrect_client_credentials' | 'garbage';

export interface GithubCall {
  method: string;
  path: string;
  query: Record<string, string>;
  /** The body, form-encoded or JSON (values as strings). */
  form: Record<string, string>;
  authorization?: string;
  accept?: string;
  status?: number;
}

export interface FakeGithub {
  /** The "github.com" base: `${url}/login/oauth/authorize`, `${url}/login/oauth/access_token`. */
  url: string;
  /** The REST base: `${apiUrl}/user`, `${apiUrl}/user/emails` (`${url}/api/v3`). */
  apiUrl: string;
  authorizeUrl: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  appName: string;
  calls: GithubCall[];
  /** The broker's LOGIN_GITHUB_* variables pointing at this emulator. */
  env(): Record<string, string>;
  addUser(user: GithubUser): void;
  /** Who the next consent approves (default: the first user). */
  signInAs(login: string): void;
  setConsent(mode: GithubConsent): void;
  /** The next authorize redirects back with error=access_denied, as when the user cancels. */
  denyNext(): void;
  /** The next token request fails this way (`status`: HTTP `status`, default 500). */
  failTokenNext(kind: GithubTokenFault, status?: number): void;
  /** The next API request answers this status (GitHub's `{ message }` body). */
  failApiNext(status?: number): void;
  /** Every code not yet exchanged is now expired (GitHub's codes live 10 minutes). */
  expireCodes(): void;
  /** Every access token stops working (the user revoked the app). */
  revokeTokens(): void;
  /** Every access token, code and the client secret this emulator issued (leak searches). */
  issuedSecrets(): string[];
  close(): Promise<void>;
}

const DOCS = 'https://docs.github.com';
const TOKEN_ERRORS = `${DOCS}/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors`;
const AUTHORIZE_ERRORS = `${DOCS}/apps/managing-oauth-apps/troubleshooting-authorization-request-errors`;
const CODE_LIFETIME_MS = 10 * 60 * 1000;

const TOKEN_ERROR_BODIES = {
  bad_verification_code: {
    error: 'bad_verification_code',
    error_description: 'The code passed is incorrect or expired.',
    error_uri: `${TOKEN_ERRORS}/#bad-verification-code`,
  },
  incorrect_client_credentials: {
    error: 'incorrect_client_credentials',
    error_description: 'The client_id and/or client_secret passed are incorrect.',
    error_uri: `${TOKEN_ERRORS}/#incorrect-client-credentials`,
  },
  redirect_uri_mismatch: {
    error: 'redirect_uri_mismatch',
    error_description:
      'The redirect_uri MUST match the registered callback URL for this application.',
    error_uri: `${AUTHORIZE_ERRORS}/#redirect-uri-mismatch2`,
  },
} as const;

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const base62 = (n: number) => Array.from(randomBytes(n), (b) => BASE62[b % BASE62.length]).join('');
const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');
const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

type Reply = { status: number; headers?: Record<string, string>; json?: unknown; text?: string };

interface PendingAuthorization {
  clientId: string;
  redirectUri: string;
  /** The redirect_uri as the client sent it (undefined: the registered callback was used). */
  sentRedirectUri?: string;
  state?: string;
  scopes: string[];
  challenge?: string;
}

interface IssuedCode extends PendingAuthorization {
  login: string;
  used: boolean;
  expiresAt: number;
}

export const DEFAULT_GITHUB_USER: GithubUser = {
  id: 583231,
  login: 'octocat',
  name: 'The Octocat',
  emails: [{ email: 'octocat@example.com', primary: true, verified: true, visibility: 'public' }],
};

/** A GitHub account whose one address is primary and verified: what most tests sign in with. */
export function verifiedGithubUser(
  id: number,
  login: string,
  name: string,
  email: string,
): GithubUser {
  return { id, login, name, emails: [{ email, primary: true, verified: true, visibility: null }] };
}

export async function startFakeGithub(
  options: {
    consent?: GithubConsent;
    users?: GithubUser[];
    port?: number;
    clientId?: string;
    clientSecret?: string;
    appName?: string;
    /** The OAuth app's registered callback URL; redirect_uri must be under it when set. */
    callbackUrl?: string;
  } = {},
): Promise<FakeGithub> {
  const clientId = options.clientId ?? `Ov23li${base62(14)}`;
  const clientSecret = options.clientSecret ?? randomBytes(20).toString('hex');
  const users = new Map<string, GithubUser>();
  for (const u of options.users ?? [DEFAULT_GITHUB_USER]) users.set(u.login, structuredClone(u));
  let consent: GithubConsent = options.consent ?? 'auto';
  let selected: string | undefined = users.keys().next().value;
  let denyNext = false;
  const tokenFaults: { kind: GithubTokenFault; status: number }[] = [];
  const apiFaults: number[] = [];
  const pending = new Map<string, PendingAuthorization>();
  const codes = new Map<string, IssuedCode>();
  const tokens = new Map<string, { login: string; scopes: string[]; revoked: boolean }>();
  const issued: string[] = [clientSecret];
  const calls: GithubCall[] = [];
  const sockets = new Set<Socket>();

  const fake: FakeGithub = {
    url: '',
    apiUrl: '',
    authorizeUrl: '',
    tokenUrl: '',
    clientId,
    clientSecret,
    appName: options.appName ?? 'Credential Broker (test)',
    calls,
    env: () => ({
      LOGIN_GITHUB_CLIENT_ID: clientId,
      LOGIN_GITHUB_CLIENT_SECRET: clientSecret,
      LOGIN_GITHUB_URL: fake.url,
      LOGIN_GITHUB_API_URL: fake.apiUrl,
    }),
    addUser: (user) => {
      users.set(user.login, structuredClone(user));
      selected ??= user.login;
    },
    signInAs: (login) => {
      if (!users.has(login)) throw new Error(`fake-github: no user ${login}`);
      selected = login;
    },
    setConsent: (mode) => {
      consent = mode;
    },
    denyNext: () => {
      denyNext = true;
    },
    failTokenNext: (kind, status = 500) => {
      tokenFaults.push({ kind, status });
    },
    failApiNext: (status = 500) => {
      apiFaults.push(status);
    },
    expireCodes: () => {
      for (const c of codes.values()) c.expiresAt = 0;
    },
    revokeTokens: () => {
      for (const t of tokens.values()) t.revoked = true;
    },
    issuedSecrets: () => [...issued],
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const redirect = (to: URL): Reply => ({ status: 302, headers: { location: to.toString() } });

  function back(p: PendingAuthorization, params: Record<string, string>): Reply {
    const to = new URL(p.redirectUri);
    for (const [k, v] of Object.entries(params)) to.searchParams.set(k, v);
    if (p.state !== undefined) to.searchParams.set('state', p.state);
    return redirect(to);
  }

  const denied = (p: PendingAuthorization) =>
    back(p, {
      error: 'access_denied',
      error_description: 'The user has denied your application access.',
      error_uri: `${AUTHORIZE_ERRORS}/#access-denied`,
    });

  function approve(p: PendingAuthorization): Reply {
    const login = selected;
    if (login === undefined) return { status: 500, text: 'fake-github: no user to sign in as' };
    const code = randomBytes(10).toString('hex'); // GitHub's codes: 20 hex characters
    codes.set(code, { ...p, login, used: false, expiresAt: Date.now() + CODE_LIFETIME_MS });
    issued.push(code);
    return back(p, { code });
  }

  function errorPage(status: number, title: string): Reply {
    return {
      status,
      text: `<!doctype html><html lang="en"><head><title>${escapeHtml(title)}</title></head><body><main><h1>${escapeHtml(title)}</h1></main></body></html>`,
    };
  }

  function consentPage(id: string, p: PendingAuthorization): Reply {
    const user = users.get(selected ?? '');
    const app = escapeHtml(fake.appName);
    const scopes = p.scopes.map((s) => `<li>${escapeHtml(s)}</li>`).join('');
    return {
      status: 200,
      text: `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Authorize application</title></head>
<body><main>
<h1>Authorize ${app}</h1>
<p>Signed in as <strong>${escapeHtml(user?.login ?? '')}</strong></p>
<p>${app} wants to access your account:</p><ul>${scopes}</ul>
<form method="post" action="/login/oauth/authorize/decision">
<input type="hidden" name="request_id" value="${id}">
<button type="submit" name="decision" value="cancel">Cancel</button>
<button type="submit" name="decision" value="authorize">Authorize</button>
</form>
<p>Authorizing will redirect to <code>${escapeHtml(p.redirectUri)}</code></p>
</main></body></html>`,
    };
  }

  function authorize(q: Record<string, string>): Reply {
    if (q.client_id !== clientId) return errorPage(404, 'Page not found');
    const registered = options.callbackUrl;
    const redirectUri = q.redirect_uri ?? registered;
    if (!redirectUri) return errorPage(400, 'No redirect_uri and no registered callback URL');
    const p: PendingAuthorization = {
      clientId,
      redirectUri,
      sentRedirectUri: q.redirect_uri,
      state: q.state,
      scopes: (q.scope ?? '').split(/[\s,]+/).filter(Boolean),
      challenge: q.code_challenge,
    };
    if (registered && !redirectUri.startsWith(registered)) {
      // GitHub sends the user back to the registered callback, not to the unregistered one.
      return back(
        { ...p, redirectUri: registered },
        {
          error: 'redirect_uri_mismatch',
          error_description:
            'The redirect_uri MUST match the registered callback URL for this application.',
          error_uri: `${AUTHORIZE_ERRORS}/#redirect-uri-mismatch`,
        },
      );
    }
    if (q.code_challenge !== undefined && q.code_challenge_method !== 'S256') {
      return back(p, {
        error: 'invalid_request',
        error_description: 'code_challenge_method must be S256.',
      });
    }
    if (denyNext) {
      denyNext = false;
      return denied(p);
    }
    if (consent === 'auto') return approve(p);
    const id = randomBytes(16).toString('hex');
    pending.set(id, p);
    return consentPage(id, p);
  }

  function decide(form: Record<string, string>): Reply {
    const p = pending.get(form.request_id ?? '');
    if (!p) return errorPage(422, 'This authorization request is no longer valid');
    pending.delete(form.request_id);
    return form.decision === 'authorize' ? approve(p) : denied(p);
  }

  function tokenReply(req: IncomingMessage, body: Record<string, string>): Reply {
    // GitHub's answer follows Accept: JSON when asked, else form-encoded; errors are HTTP 200.
    if (/application\/json/i.test(req.headers.accept ?? '')) {
      return { status: 200, json: body };
    }
    return {
      status: 200,
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      text: new URLSearchParams(body).toString(),
    };
  }

  function token(req: IncomingMessage, form: Record<string, string>): Reply {
    const fault = tokenFaults.shift();
    if (fault?.kind === 'status') {
      return { status: fault.status, text: '<html><body>Whoa there!</body></html>' };
    }
    if (fault?.kind === 'garbage') return { status: 200, text: '<html><body>Unicorn!' };
    if (fault) return tokenReply(req, TOKEN_ERROR_BODIES[fault.kind]);

    let id = form.client_id;
    let secret = form.client_secret;
    const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
    if (basic) {
      const decoded = Buffer.from(basic[1], 'base64').toString();
      const i = decoded.indexOf(':');
      id = decodeURIComponent(decoded.slice(0, i));
      secret = decodeURIComponent(decoded.slice(i + 1));
    }
    if (id !== clientId || secret !== clientSecret) {
      return tokenReply(req, TOKEN_ERROR_BODIES.incorrect_client_credentials);
    }
    const code = codes.get(form.code ?? '');
    if (!code || code.used || code.expiresAt <= Date.now() || code.clientId !== id) {
      return tokenReply(req, TOKEN_ERROR_BODIES.bad_verification_code);
    }
    code.used = true; // single use, even when the rest of the request is wrong
    if (form.redirect_uri !== undefined && form.redirect_uri !== code.redirectUri) {
      return tokenReply(req, TOKEN_ERROR_BODIES.redirect_uri_mismatch);
    }
    if (code.challenge !== undefined) {
      if (!form.code_verifier || s256(form.code_verifier) !== code.challenge) {
        return tokenReply(req, TOKEN_ERROR_BODIES.bad_verification_code);
      }
    }
    const accessToken = `gho_${base62(36)}`;
    tokens.set(accessToken, { login: code.login, scopes: code.scopes, revoked: false });
    issued.push(accessToken);
    return tokenReply(req, {
      access_token: accessToken,
      token_type: 'bearer',
      scope: code.scopes.join(','),
    });
  }

  function apiError(status: number, message: string, doc: string): Reply {
    return {
      status,
      json: { message, documentation_url: `${DOCS}/rest${doc}`, status: String(status) },
    };
  }

  function api(req: IncomingMessage, path: string): Reply {
    const failed = apiFaults.shift();
    if (failed !== undefined) return apiError(failed, 'Server Error', '');
    const value = /^(?:Bearer|token) (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const grant = value ? tokens.get(value) : undefined;
    const user = grant && !grant.revoked ? users.get(grant.login) : undefined;
    if (!grant || grant.revoked || !user) return apiError(401, 'Bad credentials', '');
    const headers = {
      'x-oauth-scopes': grant.scopes.join(', '),
      'x-github-media-type': 'github.v3',
    };
    if (path === '/user') {
      const publicEmail = user.emails.find((e) => e.primary && e.visibility === 'public');
      return {
        status: 200,
        headers: { ...headers, 'x-accepted-oauth-scopes': '' },
        json: {
          login: user.login,
          id: user.id,
          node_id: Buffer.from(`04:User${user.id}`).toString('base64'),
          avatar_url: `${fake.url}/avatars/u/${user.id}`,
          html_url: `${fake.url}/${user.login}`,
          type: 'User',
          site_admin: false,
          name: user.name,
          company: null,
          blog: '',
          location: null,
          email: publicEmail?.email ?? null,
          bio: null,
          created_at: '2011-01-25T18:44:36Z',
          updated_at: '2024-01-22T12:00:00Z',
        },
      };
    }
    if (path === '/user/emails') {
      if (!grant.scopes.some((s) => s === 'user:email' || s === 'user')) {
        // GitHub answers 404, not 403, when the token lacks the scope.
        return {
          ...apiError(
            404,
            'Not Found',
            '/users/emails#list-email-addresses-for-the-authenticated-user',
          ),
          headers: { ...headers, 'x-accepted-oauth-scopes': 'user, user:email' },
        };
      }
      return {
        status: 200,
        headers: { ...headers, 'x-accepted-oauth-scopes': 'user, user:email' },
        json: user.emails.map((e) => ({ ...e })),
      };
    }
    return apiError(404, 'Not Found', '');
  }

  function route(req: IncomingMessage, call: GithubCall): Reply {
    const { method, path, query, form } = call;
    if (method === 'GET' && path === '/login/oauth/authorize') return authorize(query);
    if (method === 'POST' && path === '/login/oauth/authorize/decision') return decide(form);
    if (method === 'POST' && path === '/login/oauth/access_token') return token(req, form);
    if (method === 'GET' && path.startsWith('/api/v3/')) return api(req, path.slice(7));
    return errorPage(404, 'Page not found');
  }

  function parseBody(req: IncomingMessage, raw: string): Record<string, string> {
    const type = req.headers['content-type'] ?? '';
    if (type.startsWith('application/x-www-form-urlencoded')) {
      return Object.fromEntries(new URLSearchParams(raw));
    }
    if (type.startsWith('application/json') && raw) {
      try {
        const parsed: unknown = JSON.parse(raw);
        if (parsed && typeof parsed === 'object') {
          return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
        }
      } catch {
        return {};
      }
    }
    return {};
  }

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake-github');
      const call: GithubCall = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        form: parseBody(req, Buffer.concat(chunks).toString()),
        authorization: req.headers.authorization,
        accept: req.headers.accept,
      };
      calls.push(call);
      const reply = route(req, call);
      call.status = reply.status;
      const json = reply.json !== undefined;
      res.writeHead(reply.status, {
        'content-type': json ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        ...reply.headers,
      });
      res.end(json ? JSON.stringify(reply.json) : (reply.text ?? ''));
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.apiUrl = `${fake.url}/api/v3`;
  fake.authorizeUrl = `${fake.url}/login/oauth/authorize`;
  fake.tokenUrl = `${fake.url}/login/oauth/access_token`;
  return fake;
}
