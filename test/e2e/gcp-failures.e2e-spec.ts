import { type FakeGoogle, startFakeGoogle } from '../fakes/google/fake-google';
import {
  callback,
  connectAndClaimGcp,
  connectGcp,
  consent,
  outcome,
} from '../fakes/google/browser';
import { findLeaks, untilLogged } from '../fakes/google/leaks';
import { BrokerHarness } from '../support/broker';
import { freePort } from '../support/processes';

/**
 * The GCP callback when something other than the user goes wrong — Google down, answering
 * garbage, rejecting the broker's client, the secret store down, the provider switched off:
 * always a redirect with a code (never an error page), an error log without secrets, an audit row.
 */
describe('GCP connect failures (e2e)', () => {
  let google: FakeGoogle;
  let broker: BrokerHarness;
  let alice: string;

  beforeAll(async () => {
    google = await startFakeGoogle();
    broker = await BrokerHarness.start({ env: google.env() });
    alice = await broker.userToken('alice');
  });
  afterAll(async () => {
    await broker.close();
    await google.close();
  });
  afterEach(() => google.clearFaults());

  const tokenCalls = () => google.calls.filter((c) => c.path === '/token').length;
  const revokes = () => google.calls.filter((c) => c.path === '/revoke');
  async function failures(code: string): Promise<number> {
    const rows = await broker.dataSource.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM audit_events
        WHERE action = 'connection.connect' AND outcome = 'failure' AND error_code = $1`,
      [code],
    );
    return rows[0].n;
  }

  it('answers Google 503s with exchange_failed after the SDK retried, and logs the reason', async () => {
    google.failToken({ kind: 'status', status: 503 }, 10);
    const calls = tokenCalls();
    const res = await connectGcp(broker, alice);
    expect(res.status).toBe(302);
    expect(outcome(res.location)).toEqual({
      provider: 'gcp',
      status: 'error',
      code: 'exchange_failed',
    });
    expect(tokenCalls() - calls).toBe(2); // retried once before giving up, not three times
    await untilLogged(
      () => broker.logs(),
      /"level":"error".*upstream_unavailable \(HTTP 503\).*gcp connect failed/,
    );
    expect(await failures('exchange_failed')).toBe(1);
  });

  it('rides out a single 503 (the SDK retries the exchange) and connects', async () => {
    google.failToken({ kind: 'status', status: 503 }, 1);
    expect((await connectAndClaimGcp(broker, alice)).claim.status).toBe(201);
  });

  it('answers a hung token endpoint with exchange_failed within 10 s, after one call', async () => {
    google.failToken({ kind: 'hang' }, 10);
    const calls = tokenCalls();
    const started = Date.now();
    const res = await connectGcp(broker, alice);
    expect(outcome(res.location)).toMatchObject({ status: 'error', code: 'exchange_failed' });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(tokenCalls() - calls).toBe(1); // a code that may be spent is not sent again
    google.clearFaults();
  }, 20_000);

  it('answers a garbage token response (HTML with 200) with exchange_failed', async () => {
    google.failToken({ kind: 'garbage' });
    expect(outcome((await connectGcp(broker, alice)).location).code).toBe('exchange_failed');
    await untilLogged(() => broker.logs(), 'bad_response');
  });

  it("answers Google rejecting the broker's client (invalid_client) with exchange_failed", async () => {
    google.failToken({ kind: 'invalid_client' });
    expect(outcome((await connectGcp(broker, alice)).location).code).toBe('exchange_failed');
    await untilLogged(() => broker.logs(), '"reason":"invalid_client (HTTP 401)"');
  });

  it('answers an unreachable token endpoint with exchange_failed', async () => {
    const api = await broker.startApi({
      GCP_TOKEN_URL: `http://127.0.0.1:${await freePort()}/token`,
    });
    // This api's PUBLIC_URL is its own address, so Google redirects back to it.
    const login = await broker.request('/gcp/login', {
      method: 'POST',
      token: alice,
      body: {},
      base: api.url,
    });
    const url = (login.body as { login_url: string }).login_url;
    expect(url).toContain(encodeURIComponent(`${api.url}/gcp/callback`));
    const res = await callback(await consent(url));
    expect(new URL(res.location).origin).toBe('http://frontend.test.example');
    expect(outcome(res.location).code).toBe('exchange_failed');
    await untilLogged(() => api.output(), '"reason":"network"');
    await api.stop();
  });

  it('answers a secret store outage with internal_error and revokes the grant it could not keep', async () => {
    const before = revokes().length;
    broker.vault.seal();
    try {
      expect(outcome((await connectGcp(broker, alice)).location)).toEqual({
        provider: 'gcp',
        status: 'error',
        code: 'internal_error',
      });
    } finally {
      broker.vault.unseal();
    }
    const revoked = revokes().slice(before);
    expect(revoked).toHaveLength(1);
    expect(revoked[0].form.token).toBe(google.grants.issued.refresh.at(-1));
    expect(await failures('internal_error')).toBe(1);
  });

  it('answers 404 provider_disabled on both routes when GCP_CLIENT_ID/SECRET are not set', async () => {
    const api = await broker.startApi({ GCP_CLIENT_ID: '', GCP_CLIENT_SECRET: '' });
    const login = await broker.request('/gcp/login', {
      method: 'POST',
      token: alice,
      body: {},
      base: api.url,
    });
    expect(login.status).toBe(404);
    expect((login.body as { code: string }).code).toBe('provider_disabled');
    const cb = await broker.request('/gcp/callback?state=x&code=y', { base: api.url });
    expect(cb.status).toBe(404);
    expect((cb.body as { code: string }).code).toBe('provider_disabled');
    await untilLogged(() => api.output(), 'gcp: disabled');
    await api.stop();
  });

  it('lets no secret of any failed attempt out: not in Postgres, the logs or Redis', async () => {
    expect(google.grants.issued.codes.length).toBeGreaterThan(4);
    expect(await findLeaks(broker, google, [])).toEqual([]);
  });
});
