import { createHash, randomBytes } from 'node:crypto';
import { type ServerResponse } from 'node:http';
import {
  type FakeRequest,
  basicCredentials,
  bearer,
  sendJson,
  startFakeServer,
} from '../tls/emulator-server';
import { type TestCa, testCa } from '../tls/test-ca';

/**
 * One OVHcloud region over HTTPS: OAuth2 (`/auth/oauth2/authorize`, `/auth/oauth2/token` with the
 * authorization code + PKCE and refresh_token grants) and the API (`/1.0/me`,
 * `/1.0/cloud/project`), with OVH-shaped errors. The authorize endpoint consents at once as the
 * current account (or answers `error=access_denied` when told to), like a user clicking through.
 */

export interface FakeOvhAccount {
  nichandle: string;
  email: string;
  projects: string[];
}

export interface FakeOvh {
  url: string;
  authUrl: string;
  apiUrl: string;
  ca: TestCa;
  clientId: string;
  clientSecret: string;
  /** Who consents at the next authorize. */
  account: FakeOvhAccount;
  /** The next authorize answers error=access_denied. */
  denyNext: boolean;
  /** Refresh answers a new refresh token (rotation) when true. */
  rotateRefreshTokens: boolean;
  /** The token endpoint answers without a refresh token when true. */
  omitRefreshToken: boolean;
  revokeRefreshTokens(): void;
  failTokens(n: number, status?: number): void;
  /** The next n token requests are taken and never answered (until close), like a hung OVH. */
  hangTokens(n: number): void;
  issuedTokens: string[];
  receivedSecrets: string[];
  codeExchanges: { code: string; verifierOk: boolean }[];
  seen: string[];
  close(): Promise<void>;
}

const ovhError = (res: ServerResponse, status: number, errorCode: string, message: string) =>
  sendJson(res, status, {
    class: `Client::${errorCode}`,
    errorCode,
    httpCode: String(status),
    message,
  });
const oauthError = (res: ServerResponse, status: number, error: string, description: string) =>
  sendJson(res, status, { error, error_description: description });

export async function startFakeOvh(options: { port?: number } = {}): Promise<FakeOvh> {
  const ca = testCa();
  const codes = new Map<
    string,
    { challenge: string; redirectUri: string; nichandle: string; used: boolean }
  >();
  const access = new Map<string, { nichandle: string; expiresAt: number }>();
  const refresh = new Map<string, string>(); // refresh token → nichandle
  const accounts = new Map<string, FakeOvhAccount>();
  const s = {
    issuedTokens: [] as string[],
    receivedSecrets: [] as string[],
    codeExchanges: [] as { code: string; verifierOk: boolean }[],
    failures: 0,
    failStatus: 500,
    hangs: 0,
  };
  const fake: Pick<
    FakeOvh,
    | 'clientId'
    | 'clientSecret'
    | 'account'
    | 'denyNext'
    | 'rotateRefreshTokens'
    | 'omitRefreshToken'
  > = {
    clientId: `ovhclient${randomBytes(4).toString('hex')}`,
    clientSecret: `ovhsecret${randomBytes(16).toString('hex')}`,
    account: {
      nichandle: 'ab12345-ovh',
      email: 'ab@example.com',
      projects: ['p1', 'p2'],
    },
    denyNext: false,
    rotateRefreshTokens: true,
    omitRefreshToken: false,
  };

  function issue(res: ServerResponse, nichandle: string, withRefresh: boolean): void {
    const accessToken = `ovhat${randomBytes(24).toString('hex')}`;
    access.set(accessToken, { nichandle, expiresAt: Date.now() + 3600_000 });
    s.issuedTokens.push(accessToken);
    let refreshToken: string | undefined;
    if (withRefresh && !fake.omitRefreshToken) {
      refreshToken = `ovhrt${randomBytes(24).toString('hex')}`;
      refresh.set(refreshToken, nichandle);
      s.issuedTokens.push(refreshToken);
    }
    sendJson(res, 200, {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: 3600,
      scope: 'all',
      ...(refreshToken ? { refresh_token: refreshToken } : {}),
    });
  }

  function authorize(req: FakeRequest, res: ServerResponse): void {
    const q = req.url.searchParams;
    const redirectUri = q.get('redirect_uri') ?? '';
    if (q.get('client_id') !== fake.clientId || !redirectUri) {
      oauthError(res, 400, 'invalid_client', 'unknown client or missing redirect_uri');
      return;
    }
    const target = new URL(redirectUri);
    if (q.get('state')) target.searchParams.set('state', q.get('state') ?? '');
    if (fake.denyNext) {
      fake.denyNext = false;
      target.searchParams.set('error', 'access_denied');
    } else if (
      q.get('response_type') !== 'code' ||
      q.get('code_challenge_method') !== 'S256' ||
      q.get('scope') !== 'all'
    ) {
      target.searchParams.set('error', 'invalid_request');
    } else {
      const code = `ovhcode${randomBytes(16).toString('hex')}`;
      accounts.set(fake.account.nichandle, fake.account);
      codes.set(code, { challenge: q.get('code_challenge') ?? '', redirectUri, nichandle: fake.account.nichandle, used: false }); // prettier-ignore
      s.issuedTokens.push(code);
      target.searchParams.set('code', code);
    }
    res.writeHead(302, { location: target.toString() }).end();
  }

  function token(req: FakeRequest, res: ServerResponse): void {
    const basic = basicCredentials(req);
    const clientId = basic?.user ?? req.params.client_id;
    const secret = basic?.password ?? req.params.client_secret;
    if (secret) s.receivedSecrets.push(secret);
    if (s.hangs > 0) {
      s.hangs--;
      return;
    }
    if (s.failures > 0) {
      s.failures--;
      oauthError(res, s.failStatus, 'server_error', 'temporarily unavailable');
      return;
    }
    if (clientId !== fake.clientId || secret !== fake.clientSecret) {
      oauthError(res, 401, 'invalid_client', 'client authentication failed');
      return;
    }
    const p = req.params;
    if (p.grant_type === 'authorization_code') {
      const grant = codes.get(p.code ?? '');
      const verifierOk =
        grant !== undefined &&
        createHash('sha256')
          .update(p.code_verifier ?? '')
          .digest('base64url') === grant.challenge;
      s.codeExchanges.push({ code: p.code ?? '', verifierOk });
      if (!grant || grant.used || grant.redirectUri !== p.redirect_uri || !verifierOk) {
        oauthError(res, 400, 'invalid_grant', 'invalid code, redirect_uri or code_verifier');
        return;
      }
      grant.used = true;
      issue(res, grant.nichandle, true);
    } else if (p.grant_type === 'refresh_token') {
      const nichandle = refresh.get(p.refresh_token ?? '');
      if (!nichandle) {
        oauthError(res, 400, 'invalid_grant', 'refresh token is invalid or revoked');
        return;
      }
      if (fake.rotateRefreshTokens) refresh.delete(p.refresh_token ?? '');
      issue(res, nichandle, fake.rotateRefreshTokens);
    } else {
      oauthError(res, 400, 'unsupported_grant_type', 'grant type not supported');
    }
  }

  function api(req: FakeRequest, res: ServerResponse, path: string): void {
    const presented = bearer(req);
    const grant = presented ? access.get(presented) : undefined;
    if (!grant || grant.expiresAt < Date.now()) {
      ovhError(res, 401, 'INVALID_CREDENTIAL', 'This credential is not valid');
      return;
    }
    const account = accounts.get(grant.nichandle);
    if (req.method === 'GET' && path === '/me') {
      sendJson(res, 200, { nichandle: grant.nichandle, email: account?.email, country: 'FR', currency: { code: 'EUR', symbol: 'EURO' } }); // prettier-ignore
    } else if (req.method === 'GET' && path === '/cloud/project') {
      sendJson(res, 200, account?.projects ?? []);
    } else {
      ovhError(res, 404, 'NotFound', `Got an invalid (or empty) URL`);
    }
  }

  const server = await startFakeServer(
    (req, res) => {
      const path = req.url.pathname;
      if (req.method === 'GET' && path === '/auth/oauth2/authorize') return authorize(req, res);
      if (req.method === 'POST' && path === '/auth/oauth2/token') return token(req, res);
      if (path.startsWith('/1.0/')) return api(req, res, path.slice(4));
      ovhError(res, 404, 'NotFound', 'Got an invalid (or empty) URL');
    },
    ca,
    options.port,
  );

  return Object.assign(fake, {
    url: server.url,
    authUrl: `${server.url}/auth/oauth2`,
    apiUrl: `${server.url}/1.0`,
    ca,
    seen: server.seen,
    revokeRefreshTokens: () => refresh.clear(),
    hangTokens: (n: number) => void (s.hangs = n),
    failTokens: (n: number, status = 500) => {
      s.failures = n;
      s.failStatus = status;
    },
    get issuedTokens() {
      return s.issuedTokens;
    },
    get receivedSecrets() {
      return s.receivedSecrets;
    },
    get codeExchanges() {
      return s.codeExchanges;
    },
    close: () => server.close(),
  });
}
