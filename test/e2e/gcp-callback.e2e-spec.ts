import { createHash } from 'node:crypto';
import { type FakeGoogle, startFakeGoogle } from '../fakes/google/fake-google';
import { callback, connectGcp, consent, outcome, startLogin } from '../fakes/google/browser';
import { droppedGrantsStillLive, findLeaks } from '../fakes/google/leaks';
import { BrokerHarness, FRONTEND_URL } from '../support/broker';
import { claimLanding } from '../support/claim';

interface ConnectionView {
  id: string;
}

/**
 * GET /gcp/callback when the state or the user's answer is not a clean consent: replayed,
 * raced, expired, foreign, missing or garbage states; a denied consent; consent without
 * cloud-platform; a token answer without a refresh token. Each is a redirect with a code, and
 * nothing is exchanged or stored that should not be.
 */
describe('GCP callback refusals (e2e)', () => {
  let google: FakeGoogle;
  let broker: BrokerHarness;
  let alice: string;
  /** Every API answer the tests saw, searched for secrets at the end. */
  const seen: string[] = [];

  beforeAll(async () => {
    google = await startFakeGoogle();
    broker = await BrokerHarness.start({
      env: { ...google.env(), RATE_LIMIT_LOGIN_PER_MINUTE: '1000' },
    });
    alice = await broker.userToken('alice');
  });
  afterAll(async () => {
    await broker.close();
    await google.close();
  });
  beforeEach(() => {
    google.consent = 'approve';
    google.account = { sub: '104857600000000000001', email: 'ada@example.com' };
  });

  const tokenCalls = () => google.calls.filter((c) => c.path === '/token').length;
  const stateHash = (loginUrl: string) =>
    createHash('sha256')
      .update(new URL(loginUrl).searchParams.get('state') ?? '')
      .digest('hex');
  async function list(token: string): Promise<ConnectionView[]> {
    const res = await broker.request('/connections', { token });
    seen.push(res.text);
    return (res.body as { items: ConnectionView[] }).items;
  }
  async function flow(token: string, body: unknown = {}) {
    const result = await connectGcp(broker, token, body);
    seen.push(result.text, result.location.toString());
    return outcome(result.location);
  }

  it('refuses a replayed callback: invalid_state, to FRONTEND_URL, nothing exchanged or stored', async () => {
    const { login_url } = await startLogin(broker, alice, { redirect_to: `${FRONTEND_URL}/mine` });
    const back = await consent(login_url);
    expect(outcome((await callback(back)).location).status).toBe('claim');
    const calls = tokenCalls();
    const replay = await callback(back);
    expect(replay.status).toBe(302);
    expect(replay.location.toString()).toBe(
      `${FRONTEND_URL}/?provider=gcp&status=error&code=invalid_state`,
    );
    expect(tokenCalls()).toBe(calls);
  });

  it('lets exactly one of two concurrent callbacks with the same state win', async () => {
    const carol = await broker.userToken('carol');
    google.account = { sub: '104857600000000000003', email: 'carol@example.com' };
    const back = await consent((await startLogin(broker, carol)).login_url);
    const calls = tokenCalls();
    const results = await Promise.all([callback(back), callback(back), callback(back)]);
    const statuses = results.map((r) => outcome(r.location).status).sort();
    expect(statuses).toEqual(['claim', 'error', 'error']);
    expect(results.map((r) => outcome(r.location).code).filter(Boolean)).toEqual([
      'invalid_state',
      'invalid_state',
    ]);
    expect(tokenCalls()).toBe(calls + 1);
    const winner = results.find((r) => outcome(r.location).status === 'claim');
    await claimLanding(broker, carol, winner?.location ?? new URL(FRONTEND_URL));
    expect(await list(carol)).toHaveLength(1);
  });

  it('refuses an expired state (state_expired) and a state made for another provider (invalid_state)', async () => {
    const expired = await startLogin(broker, alice);
    await broker.dataSource.query(
      `UPDATE oauth_states SET expires_at = now() - interval '1 second' WHERE state_hash = $1`,
      [stateHash(expired.login_url)],
    );
    const foreign = await startLogin(broker, alice);
    await broker.dataSource.query(
      `UPDATE oauth_states SET provider = 'ovh' WHERE state_hash = $1`,
      [stateHash(foreign.login_url)],
    );
    const calls = tokenCalls();
    expect(outcome((await callback(await consent(expired.login_url))).location)).toEqual({
      provider: 'gcp',
      status: 'error',
      code: 'state_expired',
    });
    expect(outcome((await callback(await consent(foreign.login_url))).location).code).toBe(
      'invalid_state',
    );
    expect(tokenCalls()).toBe(calls);
  });

  it.each([
    ['no state', '?code=4/0Aabc'],
    ['a garbage state', '?state=not-a-state&code=4/0Aabc'],
    ['an unknown well-formed state', `?state=${'A'.repeat(43)}&code=4/0Aabc`],
    ['a repeated state', `?state=${'A'.repeat(43)}&state=${'B'.repeat(43)}&code=x`],
    ['nothing at all', ''],
  ])('answers %s with a redirect carrying invalid_state, never an error page', async (_, query) => {
    const res = await callback(`${broker.url}/gcp/callback${query}`);
    expect(res.status).toBe(302);
    expect(outcome(res.location)).toEqual({
      provider: 'gcp',
      status: 'error',
      code: 'invalid_state',
    });
  });

  it('reports a denied consent as access_denied, at redirect_to, and stores nothing', async () => {
    google.consent = 'deny';
    const before = broker.vault.values().length;
    const calls = tokenCalls();
    const res = await connectGcp(broker, alice, { redirect_to: `${FRONTEND_URL}/clouds` });
    expect(res.location.toString()).toBe(
      `${FRONTEND_URL}/clouds?provider=gcp&status=error&code=access_denied`,
    );
    expect(tokenCalls()).toBe(calls);
    expect(broker.vault.values()).toHaveLength(before);
  });

  it('rejects partial consent without cloud-platform (insufficient_scope) and revokes that grant', async () => {
    google.consent = 'partial';
    const bob = await broker.userToken('bob-partial');
    expect(await flow(bob)).toEqual({
      provider: 'gcp',
      status: 'error',
      code: 'insufficient_scope',
    });
    expect(await list(bob)).toEqual([]);
    const revoke = google.calls.filter((c) => c.path === '/revoke').at(-1);
    expect(revoke?.form.token).toBe(google.grants.issued.refresh.at(-1));
    expect(revoke?.status).toBe(200);
  });

  it('rejects a token answer without a refresh token (missing_refresh_token)', async () => {
    google.failToken({ kind: 'no_refresh_token' });
    const bob = await broker.userToken('bob-norefresh');
    expect(await flow(bob)).toEqual({
      provider: 'gcp',
      status: 'error',
      code: 'missing_refresh_token',
    });
    expect(await list(bob)).toEqual([]);
  });

  it('lets every token Google issued reach Vault and nothing else: not Postgres, logs, Redis or any answer', async () => {
    expect(google.grants.issued.access.length).toBeGreaterThan(3);
    expect(await findLeaks(broker, google, seen)).toEqual([]);
    // What the broker did not keep it revoked: no dropped grant stays usable at Google.
    expect(droppedGrantsStillLive(broker, google)).toEqual([]);
  });
});
