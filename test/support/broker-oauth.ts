import { createHash, randomBytes } from 'node:crypto';
import { type CookieJar, type SignInAnswer, followRedirects } from '../fakes/identity-browser';

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
    answer = await allowConsent(answer, jar, brokerUrl, { stopBefore: toClient });
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

/**
 * Clicks Allow on the broker's consent page (an Origin-checked form post with the jar's broker
 * session and the library's interaction cookies) and follows where it leads.
 */
export async function allowConsent(
  consentPage: SignInAnswer,
  jar: CookieJar,
  brokerUrl: string,
  options: { stopBefore?: (url: URL) => boolean } = {},
): Promise<SignInAnswer> {
  const uid = /action="\/oauth\/interaction\/([^/"]+)\/confirm"/.exec(consentPage.text)?.[1];
  if (consentPage.status !== 200 || !uid) {
    throw new Error(
      `no consent page: ${consentPage.status} ${consentPage.url} ${consentPage.text.slice(0, 300)}`,
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
  if (!location) throw new Error(`Allow did not redirect: ${res.status}`);
  return followRedirects(new URL(location, confirm).toString(), {
    cookieJar: jar,
    stopBefore: options.stopBefore,
  });
}

/**
 * Approves a device code (RFC 8628) as the person signed in through `jar` would in a browser:
 * the prefilled code page (a form the browser submits by itself), the confirmation, then consent.
 */
export async function approveDevice(
  verificationUriComplete: string,
  jar: CookieJar,
): Promise<SignInAnswer> {
  const brokerUrl = new URL(verificationUriComplete).origin;
  const first = await followRedirects(verificationUriComplete, { cookieJar: jar });
  const auto = formFields(first.text);
  const confirmPage = await postForm(
    new URL(auto.action, brokerUrl).toString(),
    auto.fields,
    jar,
    brokerUrl,
  );
  const confirm = formFields(confirmPage.text, 'op.deviceConfirmForm');
  const consentPage = await postForm(
    new URL(confirm.action, brokerUrl).toString(),
    confirm.fields,
    jar,
    brokerUrl,
  );
  return allowConsent(consentPage, jar, brokerUrl);
}

/** The action and fields of a page's form (the first, or the one with `formId`). */
function formFields(
  page: string,
  formId?: string,
): { action: string; fields: Record<string, string> } {
  const forms = [...page.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)];
  const form = formId ? forms.find((f) => f[1].includes(`id="${formId}"`)) : forms[0];
  if (!form) throw new Error(`no form${formId ? ` #${formId}` : ''} in: ${page.slice(0, 500)}`);
  const fields: Record<string, string> = {};
  for (const input of form[2].matchAll(/<input\b([^>]*)>/g)) {
    const name = /name="([^"]+)"/.exec(input[1])?.[1];
    if (name) fields[name] = (/value="([^"]*)"/.exec(input[1])?.[1] ?? '').replace(/&amp;/g, '&');
  }
  return { action: (/action="([^"]+)"/.exec(form[1])?.[1] ?? '').replace(/&amp;/g, '&'), fields };
}

/** Posts a page's form as a browser does (urlencoded, its Origin, the jar's cookies) and follows redirects. */
async function postForm(
  url: string,
  fields: Record<string, string>,
  jar: CookieJar,
  origin: string,
): Promise<SignInAnswer> {
  const cookie = jar.header(url);
  const res = await fetch(url, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      origin,
      ...(cookie ? { cookie } : {}),
    },
    body: new URLSearchParams(fields),
  });
  jar.store(url, res.headers.getSetCookie());
  const location = res.headers.get('location');
  if (location && res.status >= 300 && res.status < 400) {
    return followRedirects(new URL(location, url).toString(), { cookieJar: jar });
  }
  return { url, status: res.status, text: await res.text(), setCookie: [], hops: [url] };
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
