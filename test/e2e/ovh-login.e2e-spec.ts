import { type FakeOvh, startFakeOvh } from '../fakes/ovh/fake-ovh';
import { trustTestCaInProcess } from '../fakes/tls/test-ca';
import { BrokerHarness, FRONTEND_URL, NO_LEAKS, leaksIn } from '../support/broker';
import { claimLanding } from '../support/claim';

interface Connection {
  id: string;
  provider: string;
  account_ref: string;
  status: string;
  setup_status: string;
  scopes: string[];
  metadata: Record<string, unknown>;
}
interface Problem {
  code: string;
  errors?: { path: string }[];
}

/** POST /ovh/login + GET /ovh/callback against two OVHcloud region emulators over HTTPS. */
describe('OVHcloud login (e2e)', () => {
  let eu: FakeOvh;
  let us: FakeOvh;
  let broker: BrokerHarness;
  let alice: string;
  const responses: string[] = [];

  async function login(body: unknown, token = alice) {
    const res = await broker.request('/ovh/login', { method: 'POST', token, body });
    responses.push(res.text);
    return res;
  }
  /** Follows a redirect by hand; returns the Location. */
  async function follow(url: string): Promise<URL> {
    const res = await fetch(url, { redirect: 'manual' });
    const location = res.headers.get('location');
    const text = await res.text();
    // The broker's answers only: OVH's own redirect rightly carries the code to the broker.
    if (url.startsWith(broker.url)) responses.push(`${res.status} ${location} ${text}`);
    expect([url, res.status]).toEqual([url, 302]);
    return new URL(location ?? '', url);
  }
  /** The browser's trip: login → OVH consent → broker callback → frontend → the frontend's claim. */
  async function flow(body: unknown = { region: 'eu' }) {
    const started = await login(body);
    expect(started.status).toBe(200);
    const loginUrl = (started.body as { login_url: string }).login_url;
    const callback = await follow(loginUrl);
    const landing = await follow(callback.toString());
    const claimed = await claimLanding(broker, alice, landing);
    responses.push(claimed.claim.text);
    const result = new URLSearchParams(claimed.out);
    return { loginUrl: new URL(loginUrl), callback, landing, result, claim: claimed.claim };
  }

  beforeAll(async () => {
    eu = await startFakeOvh();
    us = await startFakeOvh();
    us.account = { nichandle: 'us999-ovh', email: 'us@example.com', projects: [] };
    trustTestCaInProcess(eu.ca); // this process follows the emulator's redirects too
    broker = await BrokerHarness.start({
      env: {
        OVH_EU_CLIENT_ID: eu.clientId,
        OVH_EU_CLIENT_SECRET: eu.clientSecret,
        OVH_EU_AUTH_URL: eu.authUrl,
        OVH_EU_API_URL: eu.apiUrl,
        OVH_US_CLIENT_ID: us.clientId,
        OVH_US_CLIENT_SECRET: us.clientSecret,
        OVH_US_AUTH_URL: us.authUrl,
        OVH_US_API_URL: us.apiUrl,
        // Only for the "state of another flow" test: a GCP login makes a state, nothing more.
        GCP_CLIENT_ID: 'gcp-client.apps.googleusercontent.com',
        GCP_CLIENT_SECRET: 'gcp-test-secret',
        NODE_EXTRA_CA_CERTS: eu.ca.extraCaCerts,
        RATE_LIMIT_LOGIN_PER_MINUTE: '1000',
      },
    });
    alice = await broker.userToken('alice');
  });
  afterAll(async () => {
    await broker?.close();
    await eu?.close();
    await us?.close();
  });

  let firstId: string;

  it('connects: the consent URL, the PKCE exchange, the nichandle, tokens in the secret store', async () => {
    const { loginUrl, callback, landing, result, claim } = await flow();
    expect(`${loginUrl.origin}${loginUrl.pathname}`).toBe(`${eu.authUrl}/authorize`);
    expect(Object.fromEntries(loginUrl.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: eu.clientId,
      redirect_uri: `${broker.url}/ovh/callback`,
      scope: 'all',
      code_challenge_method: 'S256',
    });
    expect(callback.origin + callback.pathname).toBe(`${broker.url}/ovh/callback`);
    expect(landing.origin).toBe(new URL(FRONTEND_URL).origin);
    expect(result.get('provider')).toBe('ovh');
    expect(result.get('status')).toBe('claim');
    firstId = result.get('connection_id') ?? '';
    expect(claim.status).toBe(201);
    expect(eu.codeExchanges.at(-1)?.verifierOk).toBe(true);

    const c = (await broker.request(`/connections/${firstId}`, { token: alice }))
      .body as Connection;
    expect(c).toMatchObject({
      provider: 'ovh',
      account_ref: 'ab12345-ovh',
      status: 'active',
      setup_status: 'not_applicable',
      scopes: ['all'],
      metadata: { region: 'eu', nichandle: 'ab12345-ovh' },
    });
    const stored = broker.vault.values().filter((v) => v.path.endsWith(`connections/${firstId}`));
    expect(stored).toHaveLength(1);
    expect(eu.issuedTokens).toContain(stored[0].data.access_token);
    expect(eu.issuedTokens).toContain(stored[0].data.refresh_token);
    expect(stored[0].data.region).toBe('eu');
  });

  it('reconnecting the same account updates the connection; another region is its own', async () => {
    const again = await flow({ region: 'eu', redirect_to: `${FRONTEND_URL}/settings?tab=cloud` });
    expect(again.landing.pathname).toBe('/settings');
    expect(again.result.get('tab')).toBe('cloud');
    expect(again.result.get('connection_id')).toBe(firstId);
    expect(again.claim.status).toBe(200);
    const other = await flow({ region: 'us' });
    expect(other.loginUrl.origin).toBe(new URL(us.authUrl).origin);
    const usId = other.result.get('connection_id');
    expect(usId).not.toBe(firstId);
    const c = (await broker.request(`/connections/${usId}`, { token: alice })).body as Connection;
    expect(c).toMatchObject({ account_ref: 'us999-ovh', metadata: { region: 'us' } });
    const list = await broker.request('/connections?provider=ovh', { token: alice });
    expect((list.body as { items: unknown[] }).items).toHaveLength(2);
  });

  it('refreshes through the lifecycle route with the refresh token, storing the rotated one', async () => {
    const latest = () =>
      broker.vault
        .values()
        .filter((v) => v.path.endsWith(`connections/${firstId}`))
        .sort((a, b) => b.version - a.version)[0].data;
    const before = latest();
    const res = await broker.request(`/connections/${firstId}/refresh`, {
      method: 'POST',
      token: alice,
    });
    responses.push(res.text);
    expect(res.status).toBe(200);
    const after = latest();
    expect(after.refresh_token).not.toBe(before.refresh_token);
    expect(eu.issuedTokens).toContain(after.refresh_token);
    expect(eu.issuedTokens).toContain(after.access_token);
  });

  it('answers 404 provider_disabled for a region without a client', async () => {
    const res = await login({ region: 'ca' });
    expect([res.status, (res.body as Problem).code]).toEqual([404, 'provider_disabled']);
  });

  it.each([
    ['an unknown region', { region: 'asia' }, 'region'],
    ['no region', {}, 'region'],
    ['an unknown field', { region: 'eu', scope: 'all' }, '(body)'],
    ['a redirect off the frontend', { region: 'eu', redirect_to: 'https://evil.example/x' }, 'redirect_to'], // prettier-ignore
  ])('answers 400 validation_failed for %s', async (_what, body, path) => {
    const res = await login(body);
    expect((res.body as Problem).code).toBe('validation_failed');
    expect((res.body as Problem).errors?.map((e) => e.path)).toContain(path);
  });

  /** A callback URL as OVH would send it, for a fresh state. */
  async function freshCallback(region = 'eu'): Promise<URL> {
    const res = await login({ region });
    expect(res.status).toBe(200);
    return follow((res.body as { login_url: string }).login_url);
  }
  const outcome = async (url: URL | string) => (await follow(url.toString())).searchParams;

  it('redirects every failure to the frontend with a code', async () => {
    eu.denyNext = true;
    expect((await outcome(await freshCallback())).get('code')).toBe('access_denied');

    const used = await freshCallback();
    expect((await outcome(used)).get('status')).toBe('claim');
    expect((await outcome(used)).get('code')).toBe('invalid_state'); // replayed

    expect((await outcome(`${broker.url}/ovh/callback?code=x`)).get('code')).toBe('invalid_state');

    const badCode = await freshCallback();
    badCode.searchParams.set('code', 'ovhcode-forged');
    expect((await outcome(badCode)).get('code')).toBe('exchange_failed');

    const upstreamError = await freshCallback();
    upstreamError.searchParams.delete('code');
    upstreamError.searchParams.set('error', 'server_error');
    expect((await outcome(upstreamError)).get('code')).toBe('exchange_failed');

    eu.failTokens(1, 503);
    expect((await outcome(await freshCallback())).get('code')).toBe('exchange_failed');

    eu.omitRefreshToken = true;
    try {
      expect((await outcome(await freshCallback())).get('code')).toBe('missing_refresh_token');
    } finally {
      eu.omitRefreshToken = false;
    }
  });

  it('never consumes a state or exchanges a code on HEAD (405); the same callback then works with GET', async () => {
    const back = await freshCallback();
    const exchanges = eu.codeExchanges.length;
    const head = await fetch(back, { method: 'HEAD', redirect: 'manual' });
    expect([head.status, head.headers.get('location')]).toEqual([405, null]);
    expect(eu.codeExchanges.length).toBe(exchanges);
    const landing = await follow(back.toString());
    expect(landing.searchParams.get('status')).toBe('claim');
    expect(eu.codeExchanges.length).toBe(exchanges + 1);
  });

  it('refuses an expired state and a state made for another provider', async () => {
    const late = await freshCallback();
    await broker.dataSource.query(
      `UPDATE oauth_states SET expires_at = now() - interval '1 second' WHERE provider = 'ovh'`,
    );
    const expired = await outcome(late);
    expect([expired.get('status'), expired.get('code')]).toEqual(['error', 'state_expired']);

    const gcp = await broker.request('/gcp/login', { method: 'POST', token: alice, body: {} });
    expect(gcp.status).toBe(200);
    const gcpState = new URL((gcp.body as { login_url: string }).login_url).searchParams.get('state'); // prettier-ignore
    const foreign = await outcome(`${broker.url}/ovh/callback?state=${gcpState}&code=whatever`);
    expect(foreign.get('code')).toBe('invalid_state');
  });

  it('disconnects without an upstream call: 204, secret destroyed, connection revoked', async () => {
    const calls = eu.seen.length;
    const del = await broker.request(`/connections/${firstId}`, { method: 'DELETE', token: alice });
    expect(del.status).toBe(204);
    expect(eu.seen.length).toBe(calls);
    expect(broker.vault.values().filter((v) => v.path.endsWith(`connections/${firstId}`))).toEqual(
      [],
    );
    const after = await broker.request(`/connections/${firstId}`, { token: alice });
    expect((after.body as Connection).status).toBe('revoked');
  });

  it('keeps every secret it saw or was issued out of Postgres, Redis, logs and responses', async () => {
    const secrets = [
      eu.clientSecret,
      us.clientSecret,
      ...eu.receivedSecrets,
      ...us.receivedSecrets,
      ...eu.issuedTokens,
      ...us.issuedTokens,
    ];
    expect(eu.issuedTokens.length).toBeGreaterThan(6);
    const places = await broker.placesOutsideVault(responses);
    expect(leaksIn(places, secrets)).toEqual(NO_LEAKS);
    expect(places.logs).toContain('/ovh/callback'); // the callbacks were logged, redacted
  });
});
