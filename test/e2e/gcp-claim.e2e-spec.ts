import { createHash } from 'node:crypto';
import { type FakeGoogle, startFakeGoogle } from '../fakes/google/fake-google';
import { callback, connectGcp, consent, outcome, startLogin } from '../fakes/google/browser';
import { droppedGrantsStillLive, findLeaks } from '../fakes/google/leaks';
import { BrokerHarness, FRONTEND_URL, NO_LEAKS, leaksIn } from '../support/broker';
import { CLAIM_CODE, claim, claimCodeOf, claimLanding } from '../support/claim';

interface Problem {
  code: string;
  status: number;
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/**
 * The consent is bound to its user (SPEC §5 "pending claim"): the callback connects nobody; it
 * holds the grant and hands the frontend a one-time claim that only the user who started the
 * login can turn into a connection. A claim by anyone else, a replay, or no claim in time
 * revokes the grant at Google and destroys it. HEAD never uses up a callback.
 */
describe('GCP pending claim (e2e)', () => {
  let google: FakeGoogle;
  let broker: BrokerHarness;
  let alice: string;
  let mallory: string;
  /** API answers the tests saw (never the landing URLs, which rightly carry the claim). */
  const seen: string[] = [];
  const codes: string[] = [];

  beforeAll(async () => {
    google = await startFakeGoogle();
    broker = await BrokerHarness.start({
      env: { ...google.env(), RATE_LIMIT_LOGIN_PER_MINUTE: '1000' },
    });
    alice = await broker.userToken('alice');
    mallory = await broker.userToken('mallory');
  });
  afterAll(async () => {
    await broker.close();
    await google.close();
  });
  beforeEach(() => {
    google.consent = 'approve';
    google.account = { sub: '104857600000000000001', email: 'ada@example.com' };
  });

  /** Alice consents; the landing's claim code, and the refresh token Google issued for it. */
  async function pending(token = alice): Promise<{ code: string; refreshToken: string }> {
    const res = await connectGcp(broker, token);
    seen.push(res.text);
    const code = claimCodeOf(res.location);
    codes.push(code);
    return { code, refreshToken: google.grants.issued.refresh.at(-1) as string };
  }
  async function claimAs(token: string, code: string, headers: Record<string, string> = {}) {
    const res = await claim(broker, token, code, headers);
    seen.push(res.text);
    return res;
  }
  const connections = () =>
    broker.dataSource.query<{ id: string; user_id: string }[]>(
      'SELECT id, user_id FROM connections',
    );
  const pendingRows = () =>
    broker.dataSource.query<{ claim_hash: string; secret_path: string }[]>(
      'SELECT claim_hash, secret_path FROM pending_claims',
    );
  const inVault = (secret: string) => JSON.stringify(broker.vault.values()).includes(secret);
  const revoked = (refreshToken: string) =>
    google.grants.refreshTokens.get(refreshToken)?.revoked === true;

  it('holds the grant at callback time: a claim redirect with no-referrer, no connection, only a hash in Postgres', async () => {
    const res = await connectGcp(broker, alice, { redirect_to: `${FRONTEND_URL}/clouds` });
    expect(res.status).toBe(302);
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(`${res.location.origin}${res.location.pathname}`).toBe(`${FRONTEND_URL}/clouds`);
    expect(outcome(res.location)).toEqual({
      provider: 'gcp',
      status: 'claim',
      claim: expect.stringMatching(CLAIM_CODE),
    });
    const code = claimCodeOf(res.location);
    codes.push(code);

    expect(await connections()).toEqual([]);
    const [row] = await pendingRows();
    expect(row.claim_hash).toBe(sha256(code));
    expect(row.secret_path).toMatch(/^pending-claims\/[0-9a-f-]{36}$/);
    const held = broker.vault.values().filter((v) => v.path.endsWith(row.secret_path));
    expect(held).toHaveLength(1);
    expect(held[0].data.refresh_token).toBe(google.grants.issued.refresh.at(-1));

    // The claim moves the secret to the connection's path and leaves nothing pending.
    const claimed = await claimLanding(broker, alice, res.location);
    seen.push(claimed.claim.text);
    expect(claimed.claim.status).toBe(201);
    expect(await pendingRows()).toEqual([]);
    expect(broker.vault.values().filter((v) => v.path.includes('pending-claims/'))).toEqual([]);
    expect(
      broker.vault.values().filter((v) => v.path.endsWith(`connections/${claimed.connectionId}`)),
    ).toHaveLength(1);
    const audit = await broker.dataSource.query<{ action: string; outcome: string }[]>(
      `SELECT action, outcome FROM audit_events WHERE action LIKE 'connection.claim%' ORDER BY occurred_at`,
    );
    expect(audit).toEqual([
      { action: 'connection.claim_pending', outcome: 'success' },
      { action: 'connection.claim', outcome: 'success' },
    ]);
  });

  it("refuses a claim by another user (404 claim_not_found), revokes the grant at Google and keeps nothing; the login's user cannot claim it after that", async () => {
    const before = (await connections()).length;
    const { code, refreshToken } = await pending();
    const stolen = await claimAs(mallory, code);
    expect(stolen.status).toBe(404);
    expect((stolen.body as Problem).code).toBe('claim_not_found');
    expect(revoked(refreshToken)).toBe(true);
    expect(inVault(refreshToken)).toBe(false);
    expect(await pendingRows()).toEqual([]);
    expect(await connections()).toHaveLength(before);
    // Never retried after a mismatch: the rightful user gets the same 404.
    expect((await claimAs(alice, code)).status).toBe(404);
    const [refusal] = await broker.dataSource.query<
      { actor_id: string; outcome: string; error_code: string; details: Record<string, string> }[]
    >(
      `SELECT actor_id, outcome, error_code, details FROM audit_events
        WHERE action = 'connection.claim' AND actor_id = 'mallory'`,
    );
    expect(refusal).toMatchObject({
      outcome: 'failure',
      error_code: 'claim_not_found',
      details: { reason: 'other_user', login_user_id: 'alice' },
    });
  });

  it('refuses an API key claiming for another user than the one the login was for', async () => {
    const key = await broker.apiKey(['connections:write']);
    const { code, refreshToken } = await pending();
    const res = await claimAs(key, code, { 'X-On-Behalf-Of': 'mallory' });
    expect(res.status).toBe(404);
    expect(revoked(refreshToken)).toBe(true);
  });

  it('answers a replayed claim with 404 and leaves the connection as it was', async () => {
    const { code } = await pending();
    const first = await claimAs(alice, code);
    expect([200, 201]).toContain(first.status);
    const replay = await claimAs(alice, code);
    expect(replay.status).toBe(404);
    expect((replay.body as Problem).code).toBe('claim_not_found');
    const mine = (await connections()).filter((c) => c.user_id === 'alice');
    expect(mine).toHaveLength(1);
  });

  it('answers unknown codes 404 and bad bodies 400, and needs a caller who acts for a user', async () => {
    for (const code of ['A'.repeat(43), 'not-a-claim', 'x'.repeat(256)]) {
      const res = await claimAs(alice, code);
      expect([res.status, (res.body as Problem).code]).toEqual([404, 'claim_not_found']);
    }
    const post = (body: unknown, token?: string, headers: Record<string, string> = {}) =>
      broker.request('/connections/claim', { method: 'POST', token, body, headers });
    expect((await post({ claim: 42 }, alice)).status).toBe(400);
    expect((await post({ claim: 'x'.repeat(257) }, alice)).status).toBe(400);
    expect((await post({ claim: 'A'.repeat(43), extra: 1 }, alice)).status).toBe(400);
    expect((await post({}, alice)).status).toBe(400);
    expect((await post({ claim: 'A'.repeat(43) })).status).toBe(401);
    const reader = await broker.apiKey(['connections:read']);
    const res = await post({ claim: 'A'.repeat(43) }, reader, { 'X-On-Behalf-Of': 'alice' });
    expect(res.status).toBe(403);
    const writer = await broker.apiKey(['connections:write']);
    expect((await post({ claim: 'A'.repeat(43) }, writer)).status).toBe(400);
  });

  it('never consumes a state or spends a code on HEAD: 405, and the same callback works with GET afterwards', async () => {
    const back = await consent((await startLogin(broker, alice)).login_url);
    const tokenCalls = () => google.calls.filter((c) => c.path === '/token').length;
    const calls = tokenCalls();
    const head = await fetch(back, { method: 'HEAD', redirect: 'manual' });
    expect(head.status).toBe(405);
    expect(head.headers.get('allow')).toBe('GET');
    expect(head.headers.get('location')).toBeNull();
    expect(tokenCalls()).toBe(calls);
    const get = await callback(back);
    expect(outcome(get.location).status).toBe('claim');
    codes.push(claimCodeOf(get.location));
    expect(tokenCalls()).toBe(calls + 1);
  });

  it('sends no Referer onwards from an error redirect either', async () => {
    const res = await callback(`${broker.url}/gcp/callback?state=nope&code=x`);
    expect(outcome(res.location).code).toBe('invalid_state');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('refuses an expired claim, and the worker sweep revokes and destroys it', async () => {
    const { code, refreshToken } = await pending();
    await broker.dataSource.query(
      `UPDATE pending_claims SET claim_expires_at = now() - interval '1 second' WHERE claim_hash = $1`,
      [sha256(code)],
    );
    expect((await claimAs(alice, code)).status).toBe(404);
    // A short CLAIM_TTL_SECONDS makes the worker sweep every 2 s instead of every minute.
    await broker.startWorker({ CLAIM_TTL_SECONDS: '2' });
    const swept = () =>
      broker.dataSource.query<{ actor_type: string }[]>(
        `SELECT actor_type FROM audit_events WHERE action = 'connection.claim_expired'`,
      );
    // The sweep's audit row is its last act.
    const deadline = Date.now() + 15_000;
    while ((await swept()).length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(await swept()).toEqual([{ actor_type: 'system' }]);
    expect(revoked(refreshToken)).toBe(true);
    expect(inVault(refreshToken)).toBe(false);
    const left = await pendingRows();
    expect(left.map((r) => r.claim_hash)).not.toContain(sha256(code));
    // Claims still inside the api's CLAIM_TTL_SECONDS (300 s) are left alone.
    expect(left.length).toBeGreaterThan(0);
  });

  it('keeps every claim code and token out of Postgres, Redis, logs and answers', async () => {
    expect(codes.length).toBeGreaterThan(5);
    const places = await broker.placesOutsideVault(seen);
    expect(leaksIn(places, codes)).toEqual(NO_LEAKS);
    expect(JSON.stringify(broker.vault.values())).not.toContain(codes[0]);
    expect(await findLeaks(broker, google, seen)).toEqual([]);
    expect(droppedGrantsStillLive(broker, google)).toEqual([]);
  });
});
