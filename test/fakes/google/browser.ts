import { type BrokerHarness } from '../../support/broker';
import { type Claimed, claimLanding } from '../../support/claim';

/**
 * What a browser does in the GCP connect flow, one hop at a time: POST /gcp/login (the frontend),
 * open `login_url` (Google's consent page, which redirects back), follow that redirect to the
 * broker's callback, and read where the broker sends the browser next.
 */

export interface LoginResponse {
  login_url: string;
  state_expires_at: string;
}

export async function startLogin(
  broker: BrokerHarness,
  token: string,
  body: unknown = {},
  headers: Record<string, string> = {},
): Promise<LoginResponse> {
  const res = await broker.request('/gcp/login', { method: 'POST', token, body, headers });
  if (res.status !== 200) throw new Error(`POST /gcp/login: ${res.status} ${res.text}`);
  return res.body as LoginResponse;
}

/** Opens the consent page; returns the URL Google redirects the browser to (the callback). */
export async function consent(loginUrl: string): Promise<URL> {
  const res = await fetch(loginUrl, { redirect: 'manual' });
  const location = res.headers.get('location');
  if (res.status !== 302 || !location) {
    throw new Error(`consent page answered ${res.status}: ${await res.text()}`);
  }
  return new URL(location);
}

export interface CallbackResult {
  status: number;
  location: URL;
  text: string;
  headers: Headers;
}

/** Follows Google's redirect to the broker; the answer must be a redirect to the frontend. */
export async function callback(url: URL | string): Promise<CallbackResult> {
  const res = await fetch(url, { redirect: 'manual' });
  const text = await res.text();
  const location = res.headers.get('location');
  if (!location) throw new Error(`callback answered ${res.status} without a location: ${text}`);
  return { status: res.status, location: new URL(location), text, headers: res.headers };
}

/**
 * Login, consent and callback for `token`'s user; returns the redirect to the frontend, which
 * carries `status=claim&claim=…` when the consent was good (no connection exists yet).
 */
export async function connectGcp(
  broker: BrokerHarness,
  token: string,
  body: unknown = {},
): Promise<CallbackResult> {
  const { login_url } = await startLogin(broker, token, body);
  return callback(await consent(login_url));
}

/**
 * The whole flow, the frontend's claim included, for `token`'s user: the connection is made.
 * `out` is the landing's query with the claimed `connection_id`.
 */
export async function connectAndClaimGcp(
  broker: BrokerHarness,
  token: string,
  body: unknown = {},
): Promise<Claimed & { callback: CallbackResult }> {
  const result = await connectGcp(broker, token, body);
  return { ...(await claimLanding(broker, token, result.location)), callback: result };
}

/** `?provider=gcp&status=…&code=…&claim=…` of a frontend redirect, as an object. */
export function outcome(location: URL): Record<string, string> {
  return Object.fromEntries(location.searchParams);
}
