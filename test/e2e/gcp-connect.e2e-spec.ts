import { setupJobId } from '../../src/jobs/queues';
import { Redis } from 'ioredis';
import { type FakeGoogle, startFakeGoogle } from '../fakes/google/fake-google';
import {
  callback,
  connectAndClaimGcp,
  connectGcp,
  consent,
  outcome,
  startLogin,
} from '../fakes/google/browser';
import { droppedGrantsStillLive, findLeaks } from '../fakes/google/leaks';
import { BrokerHarness, FRONTEND_URL, REDIS_URL } from '../support/broker';
import { CLAIM_CODE, claimLanding } from '../support/claim';

interface ConnectionView {
  id: string;
  provider: string;
  account_ref: string;
  status: string;
  setup_status: string;
  scopes: string[];
  metadata: Record<string, unknown>;
  expires_at: string;
}

const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The GCP connect flow over HTTP against the built api, real Postgres/Redis, the Vault emulator
 * and the Google emulator: login → consent → callback → the frontend's claim → a connection, its
 * token set in Vault and its setup queued; who may start it, who may see it, and reconnecting.
 */
describe('GCP connect (e2e)', () => {
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

  async function list(token: string): Promise<ConnectionView[]> {
    const res = await broker.request('/connections', { token });
    seen.push(res.text);
    return (res.body as { items: ConnectionView[] }).items;
  }
  /** Login, consent, callback and the frontend's claim; the landing query with connection_id. */
  async function flow(token: string, body: unknown = {}): Promise<Record<string, string>> {
    const result = await connectAndClaimGcp(broker, token, body);
    seen.push(result.callback.text, result.claim.text);
    return { ...result.out, claim_status: String(result.claim.status) };
  }
  /** The BullMQ job hash of the setup job for one secret version ({} when absent). */
  async function setupJob(connectionId: string, version: number): Promise<Record<string, string>> {
    const redis = new Redis(REDIS_URL);
    try {
      return await redis.hgetall(
        `${broker.redisPrefix}:bull:setup:${setupJobId({ id: connectionId, vaultPath: `connections/${connectionId}`, vaultVersion: version })}`,
      );
    } finally {
      redis.disconnect();
    }
  }

  it('connects: consent URL per SPEC, 302 to the frontend with a claim, the claim makes the connection, token set in Vault, setup queued', async () => {
    const login = await startLogin(broker, alice);
    seen.push(JSON.stringify(login));
    const url = new URL(login.login_url);
    expect(`${url.origin}${url.pathname}`).toBe(`${google.url}/o/oauth2/v2/auth`);
    const q = Object.fromEntries(url.searchParams);
    expect(q).toMatchObject({
      response_type: 'code',
      client_id: google.clientId,
      redirect_uri: `${broker.url}/gcp/callback`,
      access_type: 'offline',
      prompt: 'consent',
      include_granted_scopes: 'true',
      code_challenge_method: 'S256',
    });
    expect(q.scope.split(' ')).toEqual(['openid', 'email', CLOUD_PLATFORM]);
    expect(q.state).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.code_challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const ttl = Date.parse(login.state_expires_at) - Date.now();
    expect(ttl).toBeGreaterThan(590_000);
    expect(ttl).toBeLessThanOrEqual(600_000);

    const res = await callback(await consent(login.login_url));
    seen.push(res.text);
    expect(res.status).toBe(302);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(`${res.location.origin}${res.location.pathname}`).toBe(`${FRONTEND_URL}/`);
    expect(outcome(res.location)).toEqual({
      provider: 'gcp',
      status: 'claim',
      claim: expect.stringMatching(CLAIM_CODE),
    });
    const claimed = await claimLanding(broker, alice, res.location);
    seen.push(claimed.claim.text);
    expect(claimed.claim.status).toBe(201);
    expect(claimed.claim.body).toMatchObject({ provider: 'gcp', account_ref: 'ada@example.com' });
    const out = claimed.out;
    expect(out.connection_id).toMatch(UUID);

    // The emulator checked the PKCE verifier against the challenge; the exchange used it.
    const exchange = google.calls.find((c) => c.form.grant_type === 'authorization_code');
    expect(exchange?.status).toBe(200);
    expect(exchange?.form.code_verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const items = await list(alice);
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      id: out.connection_id,
      provider: 'gcp',
      account_ref: 'ada@example.com',
      status: 'active',
      setup_status: 'pending',
      metadata: { email: 'ada@example.com' },
    });
    expect(items[0].scopes).toContain(CLOUD_PLATFORM);
    expect(Date.parse(items[0].expires_at) - Date.now()).toBeGreaterThan(3500_000);

    const stored = broker.vault
      .values()
      .filter((v) => v.path.endsWith(`connections/${out.connection_id}`));
    expect(stored).toHaveLength(1);
    expect(Object.keys(stored[0].data).sort()).toEqual(
      ['access_token', 'expires_at', 'refresh_token', 'scope', 'token_type'].sort(),
    );
    expect(stored[0].data.access_token).toBe(google.grants.issued.access.at(-1));
    expect(stored[0].data.refresh_token).toBe(google.grants.issued.refresh.at(-1));
    expect(stored[0].data.expires_at).toBe(items[0].expires_at);

    const job = await setupJob(out.connection_id, 1);
    expect(job.name).toBe('gcp.setup');
    expect(JSON.parse(job.data)).toEqual({ connectionId: out.connection_id });
    // The setup queue's defaults apply (SETUP_JOB_ATTEMPTS, default 5), not BullMQ's single try.
    expect(JSON.parse(job.opts)).toMatchObject({ attempts: 5 });
    const audit = await broker.dataSource.query<{ action: string }[]>(
      `SELECT action FROM audit_events WHERE connection_id = $1`,
      [out.connection_id],
    );
    expect(audit.map((a) => a.action)).toContain('connection.created');
  });

  it('honours redirect_to, keeping its own path and query', async () => {
    const out = await connectGcp(broker, alice, {
      redirect_to: `${FRONTEND_URL}/settings?tab=clouds`,
    });
    expect(out.location.pathname).toBe('/settings');
    expect(outcome(out.location)).toMatchObject({
      tab: 'clouds',
      provider: 'gcp',
      status: 'claim',
    });
    expect((await claimLanding(broker, alice, out.location)).claim.status).toBe(200);
  });

  it('lets an API key log in for a user named in X-On-Behalf-Of, and only with connections:write', async () => {
    const writer = await broker.apiKey(['connections:write']);
    const reader = await broker.apiKey(['connections:read']);
    google.account = { sub: '104857600000000000004', email: 'dave@example.com' };
    const login = await startLogin(broker, writer, {}, { 'X-On-Behalf-Of': 'dave' });
    const landing = (await callback(await consent(login.login_url))).location;
    // The key claims for the user it named, like the login it started.
    const { out } = await claimLanding(broker, writer, landing, { 'X-On-Behalf-Of': 'dave' });
    const dave = await broker.userToken('dave');
    expect((await list(dave)).map((c) => c.id)).toEqual([out.connection_id]);

    const noUser = await broker.request('/gcp/login', { method: 'POST', token: writer, body: {} });
    expect(noUser.status).toBe(400);
    const readOnly = await broker.request('/gcp/login', {
      method: 'POST',
      token: reader,
      body: {},
      headers: { 'X-On-Behalf-Of': 'dave' },
    });
    expect(readOnly.status).toBe(403);
    expect((await broker.request('/gcp/login', { method: 'POST', body: {} })).status).toBe(401);
  });

  it("hides a user's connection from everyone else (404, empty list)", async () => {
    const [mine] = await list(alice);
    const mallory = await broker.userToken('mallory');
    const res = await broker.request(`/connections/${mine.id}`, { token: mallory });
    expect(res.status).toBe(404);
    expect(await list(mallory)).toEqual([]);
  });

  it('reconnecting the same Google account keeps the connection id and writes a new secret version', async () => {
    const erin = await broker.userToken('erin');
    google.account = { sub: '104857600000000000005', email: 'erin@example.com' };
    const first = await flow(erin);
    const second = await flow(erin);
    expect([first.claim_status, second.claim_status]).toEqual(['201', '200']);
    expect(second.connection_id).toBe(first.connection_id);
    expect(await list(erin)).toHaveLength(1);
    const versions = broker.vault
      .values()
      .filter((v) => v.path.endsWith(`connections/${first.connection_id}`))
      .map((v) => v.version);
    expect(versions).toEqual([1, 2]);
    expect((await setupJob(first.connection_id, 2)).name).toBe('gcp.setup');
  });

  it('lets every token Google issued reach Vault and nothing else: not Postgres, logs, Redis or any answer', async () => {
    expect(google.grants.issued.access.length).toBeGreaterThan(3);
    expect(await findLeaks(broker, google, seen)).toEqual([]);
    // What the broker did not keep it revoked: no dropped grant stays usable at Google.
    expect(droppedGrantsStillLive(broker, google)).toEqual([]);
  });
});
