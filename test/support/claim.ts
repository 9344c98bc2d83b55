import { type BrokerHarness } from './broker';

/**
 * The frontend's half of an authorization-code connect (SPEC §5): the provider callback lands
 * the browser on the frontend with `?status=claim&claim=<code>`, and the frontend claims the
 * code as the user who started the login (POST /connections/claim), which makes the connection.
 */

export interface ClaimAnswer {
  status: number;
  body: unknown;
  text: string;
}

export const CLAIM_CODE = /^[A-Za-z0-9_-]{43}$/;

/** POST /connections/claim as `token`'s caller (an API key adds X-On-Behalf-Of in `headers`). */
export async function claim(
  broker: BrokerHarness,
  token: string,
  code: string,
  headers: Record<string, string> = {},
): Promise<ClaimAnswer> {
  const res = await broker.request('/connections/claim', {
    method: 'POST',
    token,
    body: { claim: code },
    headers,
  });
  return { status: res.status, body: res.body, text: res.text };
}

/** The one-time code of a frontend landing; fails the test unless it says `status=claim`. */
export function claimCodeOf(landing: URL): string {
  expect(landing.searchParams.get('status')).toBe('claim');
  const code = landing.searchParams.get('claim') ?? '';
  expect(code).toMatch(CLAIM_CODE);
  return code;
}

export interface Claimed {
  /** The landing's query, as the frontend saw it, plus the connection_id the claim answered. */
  out: Record<string, string>;
  connectionId: string;
  code: string;
  claim: ClaimAnswer;
}

/** Claims the code of `landing` as `token`'s caller; the claim must make a connection (200/201). */
export async function claimLanding(
  broker: BrokerHarness,
  token: string,
  landing: URL,
  headers: Record<string, string> = {},
): Promise<Claimed> {
  const code = claimCodeOf(landing);
  const answer = await claim(broker, token, code, headers);
  if (answer.status !== 201 && answer.status !== 200) {
    throw new Error(`POST /connections/claim: ${answer.status} ${answer.text}`);
  }
  const connectionId = (answer.body as { id: string }).id;
  return {
    out: { ...Object.fromEntries(landing.searchParams), connection_id: connectionId },
    connectionId,
    code,
    claim: answer,
  };
}

/** Follows one redirect by hand and returns its Location (the callback, or the landing). */
async function hop(url: string): Promise<URL> {
  const res = await fetch(url, { redirect: 'manual' });
  const location = res.headers.get('location');
  await res.text();
  if (res.status !== 302 || !location) throw new Error(`${url} answered ${res.status}`);
  return new URL(location, url);
}

/**
 * The browser's whole trip after POST /<provider>/login: the provider's consent page (which
 * redirects to the broker's callback), the callback (which redirects to the frontend), and the
 * frontend's claim as `token`'s caller.
 */
export async function consentAndClaim(
  broker: BrokerHarness,
  token: string,
  loginUrl: string,
  headers: Record<string, string> = {},
): Promise<Claimed & { callback: URL; landing: URL }> {
  const callback = await hop(loginUrl);
  const landing = await hop(callback.toString());
  return { ...(await claimLanding(broker, token, landing, headers)), callback, landing };
}
