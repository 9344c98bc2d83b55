import { type FakeGoogle, startFakeGoogle } from '../fakes/google/fake-google';
import { connectAndClaimGcp } from '../fakes/google/browser';
import { type FakeGoogleApis, startFakeGoogleApis } from '../fakes/google-apis/fake-google-apis';
import { BrokerHarness, NO_LEAKS, leaksIn } from '../support/broker';
import { fastGcpSetupEnv, waitForSetup } from '../support/setup-runs';

interface Accounts {
  items: { email: string; access: string; project_id: string }[];
}

/**
 * The service accounts GCP setup made, through the API (SPEC §14): listed for the owner, and a
 * short-lived token of one minted with the person's grant (IAM Credentials generateAccessToken),
 * so a caller can use the read-only account instead of the person's own token.
 */
describe('GCP service-account tokens (e2e)', () => {
  let google: FakeGoogle;
  let apis: FakeGoogleApis;
  let broker: BrokerHarness;
  let alice: string;
  let id: string;
  const answers: string[] = [];

  beforeAll(async () => {
    google = await startFakeGoogle();
    apis = await startFakeGoogleApis({
      isValidToken: (t) => google.grants.liveAccessToken(t) !== undefined,
    });
    apis.setProjects([{ projectId: 'sa-one', name: 'SA one', billingEnabled: true }]);
    broker = await BrokerHarness.start({
      env: {
        ...google.env(),
        RATE_LIMIT_LOGIN_PER_MINUTE: '1000',
        ...fastGcpSetupEnv(apis.url),
        SETUP_JOB_BACKOFF_MS: '100',
      },
    });
    await broker.startWorker();
    google.account = { sub: '104857600000000004242', email: 'sa-user@example.com' };
    alice = await broker.userToken('sa-alice');
    id = (await connectAndClaimGcp(broker, alice)).connectionId;
    expect((await waitForSetup(broker, alice, id)).status).toBe('succeeded');
  });
  afterAll(async () => {
    await broker?.close();
    await apis?.close();
    await google?.close();
  });

  const call = async (
    path: string,
    init: { method?: string; body?: unknown; token?: string } = {},
  ) => {
    const res = await broker.request(path, { token: alice, ...init });
    answers.push(res.text);
    return res;
  };

  it('lists the read-write and the read-only account', async () => {
    const res = await call(`/connections/${id}/service-accounts`);
    expect(res.status).toBe(200);
    const { items } = res.body as Accounts;
    expect(items.map((a) => [a.access, a.project_id]).sort()).toEqual([
      ['read_only', 'sa-one'],
      ['read_write', 'sa-one'],
    ]);
  });

  it('mints a token of the read-only account with the grant, audited; tokens:read is required', async () => {
    const { items } = (await call(`/connections/${id}/service-accounts`)).body as Accounts;
    const ro = items.find((a) => a.access === 'read_only')?.email as string;
    const res = await broker.request(`/connections/${id}/service-accounts/${ro}/token`, {
      method: 'POST',
      token: alice,
      body: { lifetime_seconds: 600 },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body).toMatchObject({
      access_token: expect.stringMatching(/^ya29\.sa-/),
      token_type: 'Bearer',
      service_account: ro,
      scope: 'https://www.googleapis.com/auth/cloud-platform',
    });
    const minted = (res.body as { access_token: string }).access_token;
    expect(apis.callsOf('generateAccessToken').length).toBeGreaterThan(0);
    const audit = await broker.dataSource.query<{ action: string }[]>(
      `SELECT action FROM audit_events WHERE connection_id = $1 AND action = 'gcp.service_account_token'`,
      [id],
    );
    expect(audit.length).toBe(1);
    const reader = await broker.apiKey(['connections:read']);
    const denied = await broker.request(`/connections/${id}/service-accounts/${ro}/token`, {
      method: 'POST',
      token: reader,
      body: {},
    });
    expect(denied.status).toBe(403);
    // The minted token went to the caller only.
    expect(leaksIn(await broker.placesOutsideVault(answers), [minted])).toEqual(NO_LEAKS);
  });

  it('refuses a lifetime over an hour, an unknown account, and another user', async () => {
    const { items } = (await call(`/connections/${id}/service-accounts`)).body as Accounts;
    const long = await call(`/connections/${id}/service-accounts/${items[0].email}/token`, {
      method: 'POST',
      body: { lifetime_seconds: 7200 },
    });
    expect(long.status).toBe(400);
    expect(long.body).toMatchObject({ code: 'validation_failed' });
    const unknown = await call(
      `/connections/${id}/service-accounts/nobody@sa-one.iam.gserviceaccount.com/token`,
      { method: 'POST', body: {} },
    );
    expect(unknown.status).toBe(404);
    const mallory = await broker.userToken('sa-mallory');
    expect((await call(`/connections/${id}/service-accounts`, { token: mallory })).status).toBe(
      404,
    );
  });
});
