import { createHash, randomBytes } from 'node:crypto';
import { type CookieJar, followRedirects } from '../fakes/identity-browser';

/** A client registered at the broker's /oauth/register (RFC 7591), public (PKCE only). */
export interface RegisteredClient {
  client_id: string;
  redirect_uri: string;
}

export interface BrokerTokens {
  access_token: string;
  refresh_token?: string;
  token_type: string;
  expires_in: number;
  scope: string;
}

/** What one authorization took: the code and the tokens, for leak checks. */
export interface Authorization {
  code: string;
  iss: string | null;
  state: string | null;
  tokens: BrokerTokens;
  /** Every page the broker answered on the way (for leak checks). */
  pages: string[];
}

const b64url = (bytes: Buffer) => bytes.toString('base64url');

export async function registerPublicClient(
  brokerUrl: string,
  redirectUri: string,
  name = 'e2e MCP agent',
): Promise<RegisteredClient> {
  const res = await fetch(`${brokerUrl}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: name,
      redirect_uris: [redirectUri],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    }),
  });
  const body = (await res.json()) as { client_id?: string };
  if (res.status !== 201 || !body.client_id) {
    throw new Error(`registration failed: ${res.status} ${JSON.stringify(body)}`);
  }
  return { client_id: body.client_id, redirect_uri: redirectUri };
}

/**
 * Code + PKCE (S256) at the broker the way a browser goes: /oauth/authorize, the interaction
 * (the person is signed in already: `jar` holds the broker session), the consent page's Allow
 * (an Origin-checked form post), the library's resume, and the redirect to the client's
 * redirect_uri (not requested: nothing listens there); then the code exchange with `resource`.
 */
export async function authorizeWithPkce(
  brokerUrl: string,
  jar: CookieJar,
  client: RegisteredClient,
  request: { resource: string; scope: string },
): Promise<Authorization> {
  const verifier = b64url(randomBytes(32));
  const challenge = b64url(createHash('sha256').update(verifier).digest());
  const state = b64url(randomBytes(16));
  const authorize = new URL(`${brokerUrl}/oauth/authorize`);
  for (const [k, v] of Object.entries({
    client_id: client.client_id,
    redirect_uri: client.redirect_uri,
    response_type: 'code',
    scope: request.scope,
    resource: request.resource,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
    prompt: 'consent',
  })) {
    authorize.searchParams.set(k, v);
  }
  const redirectOrigin = new URL(client.redirect_uri).origin;
  const toClient = (u: URL) => u.origin === redirectOrigin;
  const pages: string[] = [];
  let answer = await followRedirects(authorize.toString(), {
    cookieJar: jar,
    stopBefore: toClient,
  });
  pages.push(answer.text);
  if (answer.status !== 0) {
    const uid = /action="\/oauth\/interaction\/([^/"]+)\/confirm"/.exec(answer.text)?.[1];
    if (answer.status !== 200 || !uid) {
      throw new Error(
        `no consent page: ${answer.status} ${answer.url} ${answer.text.slice(0, 300)}`,
      );
    }
    const confirm = `${brokerUrl}/oauth/interaction/${uid}/confirm`;
    const cookie = jar.header(confirm);
    const res = await fetch(confirm, {
      method: 'POST',
      redirect: 'manual',
      headers: { origin: brokerUrl, ...(cookie ? { cookie } : {}) },
    });
    jar.store(confirm, res.headers.getSetCookie());
    const location = res.headers.get('location');
    pages.push(await res.text());
    if (!location) throw new Error(`Allow did not redirect: ${res.status}`);
    answer = await followRedirects(new URL(location, confirm).toString(), {
      cookieJar: jar,
      stopBefore: toClient,
    });
    pages.push(answer.text);
  }
  const back = new URL(answer.url);
  if (answer.status !== 0 || !toClient(back)) {
    throw new Error(`the flow did not return to the client: ${answer.status} ${answer.url}`);
  }
  const code = back.searchParams.get('code');
  if (!code) throw new Error(`no code: ${answer.url}`);
  if (back.searchParams.get('state') !== state) throw new Error('state mismatch');
  const tokens = await exchangeCode(brokerUrl, client, {
    code,
    verifier,
    resource: request.resource,
  });
  return { code, iss: back.searchParams.get('iss'), state, tokens, pages };
}

export async function exchangeCode(
  brokerUrl: string,
  client: RegisteredClient,
  input: { code: string; verifier: string; resource: string },
): Promise<BrokerTokens> {
  return tokenRequest(brokerUrl, {
    grant_type: 'authorization_code',
    code: input.code,
    redirect_uri: client.redirect_uri,
    client_id: client.client_id,
    code_verifier: input.verifier,
    resource: input.resource,
  });
}

export async function refreshTokens(
  brokerUrl: string,
  client: RegisteredClient,
  refreshToken: string,
  resource: string,
): Promise<{ status: number; tokens?: BrokerTokens; body: unknown }> {
  const res = await fetch(`${brokerUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      client_id: client.client_id,
      resource,
    }),
  });
  const body: unknown = await res.json();
  return { status: res.status, tokens: res.ok ? (body as BrokerTokens) : undefined, body };
}

async function tokenRequest(
  brokerUrl: string,
  form: Record<string, string>,
): Promise<BrokerTokens> {
  const res = await fetch(`${brokerUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
  const body = (await res.json()) as BrokerTokens & { error?: string };
  if (!res.ok) throw new Error(`token request failed: ${res.status} ${JSON.stringify(body)}`);
  return body;
}
