import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { type AddressInfo, type Socket } from 'node:net';
import { SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';

/**
 * An OpenID Connect issuer for the broker's sign-in tests, built on the real `oidc-provider`
 * (v9) so its wire format is OpenID Connect Core 1.0 / Discovery 1.0 as a certified OP speaks it:
 * `${issuer}/.well-known/openid-configuration`, the JWKS, authorization code + PKCE (S256,
 * required), the token endpoint (client_secret_basic or client_secret_post), userinfo, id_tokens
 * signed RS256, the `iss` authorization response parameter (RFC 9207). The issuer may carry a
 * path (`issuerPath`, e.g. `/<tenant>/v2.0` for the Entra layer in fake-entra.ts).
 *
 * What is ours, not the library's: the interaction (sign-in + consent) pages, `auto` (finished at
 * once as the selected account, consent granted for what was asked) or `page` (accessible
 * `Continue as <name>` / `Cancel` buttons posting back here); every authorization asks for a
 * sign-in (the library's session cookie is dropped, no silent SSO), so `signInAs()` always
 * decides who signs in.
 * Faults on the token endpoint and id_token claim overrides (the token response's id_token is
 * re-signed with the issuer's own key) are injected by a Koa middleware in front of the library.
 *
 * Loading: oidc-provider is ESM-only ("type": "module", no CommonJS build) and ships no types.
 * This repository compiles to CommonJS (ts-jest too), so it is loaded with `require()`: Node 22.12+
 * can `require()` an ES module without top-level await, and Jest 30 with
 * `--experimental-vm-modules` does the same; an `await import()` would be compiled into a
 * `require()` anyway. The few parts used are typed below.
 *
 * Cookies over plain http: the library sets its cookies `Secure` only when the request is
 * (`ctx.secure`), so on http://127.0.0.1 they are plain `HttpOnly; SameSite=Lax` and work in a
 * browser and in identity-browser.ts's jar. Browsers do not separate cookies by port, and the
 * broker's own authorization server (§11) may be an oidc-provider too: the cookie names carry this
 * emulator's port so two issuers (and the broker) on 127.0.0.1 never overwrite each other's.
 */

export type OidcConsent = 'auto' | 'page';

export interface OidcAccount {
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  preferred_username?: string;
  /** Further claims; released when named in `startFakeOidc({ extraClaims })`. */
  [claim: string]: unknown;
}

export type OidcTokenFault = 'status' | 'invalid_grant';

export interface OidcCall {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization?: string;
  status?: number;
}

export interface FakeOidc {
  /** The server's origin, `http://127.0.0.1:<port>`. */
  url: string;
  /** `${url}${issuerPath}`: what discovery and the id_tokens say. */
  issuer: string;
  issuerPath: string;
  clientId: string;
  clientSecret: string;
  /** Redirect URIs the client may use; empty = any (the broker's port is often not known yet). */
  redirectUris: string[];
  calls: OidcCall[];
  /** The broker's LOGIN_OIDC_* variables pointing at this emulator. */
  env(): Record<string, string>;
  addAccount(account: OidcAccount): void;
  /** Who signs in at the next authorization (default: the first account). */
  signInAs(sub: string): void;
  setConsent(mode: OidcConsent): void;
  /** The next authorization is cancelled by the user (error=access_denied). */
  denyNext(): void;
  /** The next token request fails: `status` (HTTP `status`, default 500) or `invalid_grant`. */
  failTokenNext(kind: OidcTokenFault, status?: number): void;
  /**
   * The next id_token from the token endpoint carries these claims instead (an `undefined` value
   * removes the claim), re-signed with the issuer's key: a wrong `aud`, `iss`, `nonce`, an `exp`
   * in the past.
   */
  nextIdTokenClaims(overrides: Record<string, unknown>): void;
  /** Every id_token, access token, refresh token, code and the client secret issued. */
  issuedSecrets(): string[];
  close(): Promise<void>;
}

export interface FakeOidcOptions {
  issuerPath?: string;
  port?: number;
  clientId?: string;
  clientSecret?: string;
  redirectUris?: string[];
  consent?: OidcConsent;
  accounts?: OidcAccount[];
  /** Claim names released with the `openid` scope besides `sub` (Entra: `tid`, `oid`). */
  extraClaims?: string[];
  /** Claims of the `email` scope (default `email`, `email_verified`; Entra's lacks the latter). */
  emailClaims?: string[];
  /** Shown on the consent page. */
  name?: string;
}

/* ---- the parts of oidc-provider (untyped, ESM) this file uses ---- */

interface KoaContext {
  path: string;
  method: string;
  status: number;
  body: unknown;
  set(field: string, value: string): void;
  response: { get(field: string): string | undefined };
  oidc?: { route?: string };
}

interface Interaction {
  uid: string;
  prompt: { name: string; details: Record<string, unknown> };
  params: Record<string, string | undefined>;
  grantId?: string;
}

interface GrantInstance {
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  addResourceScope(resource: string, scope: string): void;
  save(): Promise<string>;
}

interface OidcProviderInstance {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  use(mw: (ctx: KoaContext, next: () => Promise<void>) => Promise<void>): void;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
  interactionFinished(
    req: IncomingMessage,
    res: ServerResponse,
    result: Record<string, unknown>,
    options?: { mergeWithLastSubmission?: boolean },
  ): Promise<void>;
  Grant: new (init: { accountId: string; clientId: string }) => GrantInstance;
  Client: { prototype: { redirectUriAllowed(uri: string): boolean } };
  on(event: string, listener: (...args: unknown[]) => void): void;
}

interface OidcProviderModule {
  Provider: new (issuer: string, configuration: Record<string, unknown>) => OidcProviderInstance;
}

/* eslint-disable @typescript-eslint/no-require-imports */
const oidcProvider = () => require('oidc-provider') as OidcProviderModule;
/* eslint-enable @typescript-eslint/no-require-imports */

/** Removes a (signed) cookie from a request before the library reads it. */
function dropCookie(req: IncomingMessage, name: string) {
  const header = req.headers.cookie;
  if (!header) return;
  req.headers.cookie = header
    .split(/;\s*/)
    .filter((part) => {
      const n = part.slice(0, part.indexOf('='));
      return n !== name && n !== `${name}.sig`;
    })
    .join('; ');
}

const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

/**
 * The library's storage, in memory (its own in-memory adapter prints a warning per instance).
 * Also how the emulator learns every code and token value it handed out: their ids are the values.
 */
function memoryAdapterFor(issued: Set<string>) {
  const store = new Map<string, { payload: Record<string, unknown>; expiresAt?: number }>();
  const byGrant = new Map<string, Set<string>>();
  const secretModels = new Set(['AuthorizationCode', 'AccessToken', 'RefreshToken']);
  return class MemoryAdapter {
    constructor(private readonly model: string) {}
    private key(id: string) {
      return `${this.model}:${id}`;
    }
    async upsert(id: string, payload: Record<string, unknown>, expiresIn?: number) {
      const key = this.key(id);
      store.set(key, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : undefined });
      if (secretModels.has(this.model)) issued.add(id);
      const grantId = payload.grantId;
      if (typeof grantId === 'string') {
        if (!byGrant.has(grantId)) byGrant.set(grantId, new Set());
        byGrant.get(grantId)?.add(key);
      }
      if (typeof payload.uid === 'string')
        store.set(`${this.model}:uid:${payload.uid}`, { payload });
      if (typeof payload.userCode === 'string') {
        store.set(`${this.model}:userCode:${payload.userCode}`, { payload });
      }
    }
    private live(key: string) {
      const entry = store.get(key);
      if (!entry) return undefined;
      if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
        store.delete(key);
        return undefined;
      }
      return entry.payload;
    }
    async find(id: string) {
      return this.live(this.key(id));
    }
    async findByUid(uid: string) {
      return this.live(`${this.model}:uid:${uid}`);
    }
    async findByUserCode(userCode: string) {
      return this.live(`${this.model}:userCode:${userCode}`);
    }
    async consume(id: string) {
      const payload = this.live(this.key(id));
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id: string) {
      store.delete(this.key(id));
    }
    async revokeByGrantId(grantId: string) {
      for (const key of byGrant.get(grantId) ?? []) store.delete(key);
      byGrant.delete(grantId);
    }
  };
}

export async function startFakeOidc(options: FakeOidcOptions = {}): Promise<FakeOidc> {
  const { Provider } = oidcProvider();
  const issuerPath = (options.issuerPath ?? '').replace(/\/$/, '');
  if (issuerPath && !issuerPath.startsWith('/')) throw new Error('issuerPath must start with /');
  const clientId = options.clientId ?? `client-${randomBytes(6).toString('hex')}`;
  const clientSecret = options.clientSecret ?? randomBytes(24).toString('base64url');
  const accounts = new Map<string, OidcAccount>();
  for (const a of options.accounts ?? []) accounts.set(a.sub, { ...a });
  let selected: string | undefined = accounts.keys().next().value;
  let consent: OidcConsent = options.consent ?? 'auto';
  let denyNext = false;
  const tokenFaults: { kind: OidcTokenFault; status: number }[] = [];
  const idTokenOverrides: Record<string, unknown>[] = [];
  const issued = new Set<string>([clientSecret]);
  const calls: OidcCall[] = [];
  const sockets = new Set<Socket>();

  // Listen first: the issuer (and so the provider) needs the port.
  let handle: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.writeHead(503).end();
  };
  const server: Server = createServer((req, res) => handle(req, res));
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const issuer = `${url}${issuerPath}`;

  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = `fake-oidc-${randomBytes(4).toString('hex')}`;
  const signingKey: KeyObject = privateKey;
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };

  const cookieName = (what: string) => `_fake_oidc_${port}_${what}`;
  const provider = new Provider(issuer, {
    adapter: memoryAdapterFor(issued),
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        // Checked by the live list below; the library wants one at registration.
        redirect_uris: options.redirectUris?.length
          ? options.redirectUris
          : ['http://127.0.0.1/placeholder'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic', // client_secret_post is accepted too
        id_token_signed_response_alg: 'RS256',
      },
    ],
    jwks: { keys: [jwk] },
    cookies: {
      keys: [randomBytes(32).toString('base64url')],
      names: {
        session: cookieName('session'),
        interaction: cookieName('interaction'),
        resume: cookieName('resume'),
      },
    },
    claims: {
      openid: ['sub', ...(options.extraClaims ?? [])],
      email: options.emailClaims ?? ['email', 'email_verified'],
      profile: ['name', 'preferred_username', 'given_name', 'family_name'],
    },
    // Scope claims in the id_token too (as Google, Entra and most IdPs do), not only userinfo.
    conformIdTokenClaims: false,
    scopes: ['openid', 'email', 'profile', 'offline_access'],
    responseTypes: ['code'],
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
      revocation: { enabled: true },
    },
    ttl: {
      AuthorizationCode: 600,
      AccessToken: 3600,
      IdToken: 3600,
      RefreshToken: 14 * 24 * 3600,
      Interaction: 3600,
      Session: 14 * 24 * 3600,
      Grant: 14 * 24 * 3600,
    },
    interactions: {
      url: (_ctx: unknown, interaction: { uid: string }) =>
        `${issuerPath}/interaction/${interaction.uid}`,
    },
    findAccount: (_ctx: unknown, sub: string) => {
      const account = accounts.get(sub);
      if (!account) return undefined;
      return {
        accountId: sub,
        claims: () => ({ ...account, sub }),
      };
    },
    renderError: (ctx: KoaContext, out: Record<string, string>) => {
      ctx.set('content-type', 'text/html; charset=utf-8');
      ctx.body = `<!doctype html><html lang="en"><head><title>Sign-in error</title></head><body><main><h1>Sign-in error</h1><p>${escapeHtml(out.error ?? '')}: ${escapeHtml(out.error_description ?? '')}</p></main></body></html>`;
    },
  });

  const redirectUris: string[] = [...(options.redirectUris ?? [])];
  provider.Client.prototype.redirectUriAllowed = (uri: string) =>
    redirectUris.length === 0 ? /^https?:\/\//.test(uri) : redirectUris.includes(uri);

  // The token endpoint's faults, and what it issues (id_tokens are stored nowhere).
  provider.use(async (ctx, next) => {
    const isToken = ctx.method === 'POST' && ctx.path === '/token';
    const fault = isToken ? tokenFaults.shift() : undefined;
    if (fault?.kind === 'status') {
      ctx.status = fault.status;
      ctx.body = { error: 'server_error', error_description: 'injected failure' };
      return;
    }
    if (fault?.kind === 'invalid_grant') {
      ctx.status = 400;
      ctx.body = { error: 'invalid_grant', error_description: 'grant request is invalid' };
      return;
    }
    await next();
    const location = ctx.response.get('location') ?? '';
    if (location.includes('code=')) {
      const code = new URL(location).searchParams.get('code');
      if (code) issued.add(code);
    }
    if (!isToken || ctx.status !== 200 || !ctx.body || typeof ctx.body !== 'object') return;
    const body = ctx.body as Record<string, unknown>;
    const overrides = idTokenOverrides.shift();
    if (typeof body.id_token === 'string' && overrides) {
      const claims: Record<string, unknown> = { ...decodeJwt(body.id_token), ...overrides };
      for (const [k, v] of Object.entries(overrides)) if (v === undefined) delete claims[k];
      const header = decodeProtectedHeader(body.id_token);
      body.id_token = await new SignJWT(claims)
        .setProtectedHeader({
          alg: 'RS256',
          kid: header.kid ?? kid,
          ...(header.typ ? { typ: header.typ } : {}),
        })
        .sign(signingKey);
    }
    for (const k of ['id_token', 'access_token', 'refresh_token']) {
      if (typeof body[k] === 'string') issued.add(body[k]);
    }
  });

  const page = (res: ServerResponse, status: number, html: string) => {
    res.writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
    });
    res.end(html);
  };

  async function finish(req: IncomingMessage, res: ServerResponse, details: Interaction) {
    const sub = selected;
    if (sub === undefined || !accounts.has(sub)) {
      page(res, 500, 'fake-oidc: no account to sign in as');
      return;
    }
    const grant = new provider.Grant({ accountId: sub, clientId: details.params.client_id ?? '' });
    if (details.params.scope) grant.addOIDCScope(details.params.scope);
    const claims = details.prompt.details.missingOIDCClaims;
    if (Array.isArray(claims)) grant.addOIDCClaims(claims as string[]);
    const resourceScopes = details.prompt.details.missingResourceScopes;
    if (resourceScopes && typeof resourceScopes === 'object') {
      for (const [resource, scopes] of Object.entries(resourceScopes as Record<string, string[]>)) {
        grant.addResourceScope(resource, scopes.join(' '));
      }
    }
    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: sub }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
  }

  async function cancel(req: IncomingMessage, res: ServerResponse) {
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'End-User aborted interaction' },
      { mergeWithLastSubmission: false },
    );
  }

  function consentPage(res: ServerResponse, details: Interaction) {
    const account = accounts.get(selected ?? '');
    const who = escapeHtml(String(account?.name ?? account?.preferred_username ?? selected ?? ''));
    const base = `${issuerPath}/interaction/${details.uid}`;
    const scopes = (details.params.scope ?? '')
      .split(' ')
      .filter(Boolean)
      .map((s) => `<li>${escapeHtml(s)}</li>`)
      .join('');
    page(
      res,
      200,
      `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in</title></head>
<body><main>
<h1>Sign in to ${escapeHtml(options.name ?? 'the application')}</h1>
<p>It asks for:</p><ul>${scopes}</ul>
<form method="post" action="${base}/confirm"><button type="submit">Continue as ${who}</button></form>
<form method="post" action="${base}/abort"><button type="submit">Cancel</button></form>
</main></body></html>`,
    );
  }

  async function interaction(req: IncomingMessage, res: ServerResponse, action?: string) {
    let details: Interaction;
    try {
      details = await provider.interactionDetails(req, res);
    } catch {
      page(res, 400, 'fake-oidc: this sign-in has expired or its cookie is missing');
      return;
    }
    if (req.method === 'GET' && action === undefined) {
      if (denyNext) {
        denyNext = false;
        return cancel(req, res);
      }
      if (consent === 'auto') return finish(req, res, details);
      return consentPage(res, details);
    }
    if (req.method === 'POST' && action === 'confirm') return finish(req, res, details);
    if (req.method === 'POST' && action === 'abort') return cancel(req, res);
    page(res, 405, 'Method Not Allowed');
  }

  const callback = provider.callback();
  handle = (req, res) => {
    const full = new URL(req.url ?? '/', url);
    const call: OidcCall = {
      method: req.method ?? 'GET',
      path: full.pathname,
      query: Object.fromEntries(full.searchParams),
      authorization: req.headers.authorization,
    };
    calls.push(call);
    res.on('finish', () => {
      call.status = res.statusCode;
    });
    if (issuerPath && full.pathname !== issuerPath && !full.pathname.startsWith(`${issuerPath}/`)) {
      page(res, 404, 'Not Found');
      return;
    }
    const rest = full.pathname.slice(issuerPath.length) || '/';
    const match = /^\/interaction\/([^/]+)(?:\/(confirm|abort))?$/.exec(rest);
    if (match) {
      interaction(req, res, match[2]).catch((err: unknown) => {
        if (!res.headersSent) page(res, 500, `fake-oidc: ${String(err)}`);
      });
      return;
    }
    // No sign-in session outlives its authorization (except for logout): every authorization
    // asks who signs in, so signInAs() decides it each time, and switching accounts never hits
    // the library's "log the other account out first" auto-submitting form.
    if (!rest.startsWith('/session/end')) dropCookie(req, cookieName('session'));
    // Mounted under issuerPath, as express' app.use(prefix, ...) would: the library reads the
    // prefix from originalUrl when it builds its URLs.
    Object.assign(req, { originalUrl: req.url, url: `${rest}${full.search}` });
    callback(req, res);
  };

  const fake: FakeOidc = {
    url,
    issuer,
    issuerPath,
    clientId,
    clientSecret,
    redirectUris,
    calls,
    env: () => ({
      LOGIN_OIDC_ISSUER: issuer,
      LOGIN_OIDC_CLIENT_ID: clientId,
      LOGIN_OIDC_CLIENT_SECRET: clientSecret,
    }),
    addAccount: (account) => {
      accounts.set(account.sub, { ...account });
      selected ??= account.sub;
    },
    signInAs: (sub) => {
      if (!accounts.has(sub)) throw new Error(`fake-oidc: no account ${sub}`);
      selected = sub;
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
    nextIdTokenClaims: (overrides) => {
      idTokenOverrides.push(overrides);
    },
    issuedSecrets: () => [...issued],
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}
