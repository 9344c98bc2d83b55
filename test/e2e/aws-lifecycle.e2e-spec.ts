import { type FakeSts, startFakeSts } from '../fakes/aws/fake-sts';
import { BrokerHarness, NO_LEAKS, leaksIn } from '../support/broker';
import { connectionRow, eventually, setRow } from '../support/lifecycle-seed';

interface AwsToken {
  token_type: string;
  access_key_id: string;
  secret_access_key: string;
  session_token: string;
  expires_at: string;
  region: string;
}
interface Problem {
  code: string;
}

const ACCOUNT = '333333333333';
const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;

/**
 * An AWS connection through the token lifecycle (SPEC §6, §13): on-read, manual and scheduled
 * refresh by assuming the role again; a trust policy switched off later → needs_reauth;
 * throttling → refresh_failing with backoff; disconnect destroys the secret.
 */
describe('AWS token lifecycle (e2e)', () => {
  let sts: FakeSts;
  let broker: BrokerHarness;
  let carol: string;
  let externalId: string;
  const responses: string[] = [];

  async function call(path: string, init: { method?: string; body?: unknown } = {}) {
    const res = await broker.request(path, { token: carol, ...init });
    if (!path.includes('/token')) responses.push(res.text); // token reads carry the secrets
    return res;
  }
  async function connected(name: string): Promise<string> {
    sts.addRole({ arn: role(name), trustedPrincipal: sts.broker.principalArn, externalId });
    const res = await call('/aws/connect', { method: 'POST', body: { role_arn: role(name) } });
    expect(res.status).toBe(201);
    return (res.body as { id: string }).id;
  }
  const token = async (id: string) => {
    const res = await broker.request(`/connections/${id}/token`, { token: carol });
    return { status: res.status, body: res.body as AwsToken & Problem };
  };
  const assumed = (name: string) => sts.assumeRoleCalls(role(name)).filter((c) => c.status === 200);

  beforeAll(async () => {
    sts = await startFakeSts();
    broker = await BrokerHarness.start({
      env: {
        ...sts.env({ principalArn: true }),
        RATE_LIMIT_LOGIN_PER_MINUTE: '1000',
        REFRESH_WINDOW_SECONDS: '300',
        REFRESH_INTERVAL_SECONDS: '1',
      },
    });
    carol = await broker.userToken('carol');
    externalId = ((await call('/aws/external-id')).body as { external_id: string }).external_id;
  });
  afterAll(async () => {
    await broker?.close();
    await sts?.close();
  });

  it('refreshes on read inside REFRESH_WINDOW_SECONDS by assuming the role again', async () => {
    const id = await connected('on-read');
    const first = await token(id);
    expect(first.status).toBe(200);
    const calls = assumed('on-read').length;
    await setRow(broker, id, { expiresAt: new Date(Date.now() + 60_000) });
    const second = await token(id);
    expect(second.status).toBe(200);
    expect(second.body.access_key_id).not.toBe(first.body.access_key_id);
    expect(new Date(second.body.expires_at).getTime()).toBeGreaterThan(Date.now() + 3500_000);
    expect(
      assumed('on-read')
        .slice(calls)
        .map((c) => c.params.ExternalId),
    ).toEqual([externalId]);
    expect((await connectionRow(broker, id)).vaultVersion).toBe(2);
  });

  it('refreshes on demand (POST /connections/:id/refresh)', async () => {
    const id = await connected('manual');
    const before = await token(id);
    const res = await call(`/connections/${id}/refresh`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect((res.body as { refreshed_at: string }).refreshed_at).toBeTruthy();
    const after = await token(id);
    expect(after.body.session_token).not.toBe(before.body.session_token);
    expect(assumed('manual').filter((c) => c.params.ExternalId === externalId)).toHaveLength(2);
  });

  it('throttling → refresh_failing with backoff, the valid credentials still served; then active again', async () => {
    const id = await connected('throttled');
    const before = await token(id);
    sts.throttleNext(2); // the call and the SDK's one retry
    const res = await call(`/connections/${id}/refresh`, { method: 'POST' });
    expect([res.status, (res.body as Problem).code]).toEqual([503, 'provider_unavailable']);
    const row = await connectionRow(broker, id);
    expect(row).toMatchObject({ status: 'refresh_failing', refreshFailures: 1, lastErrorCode: 'provider_unavailable' }); // prettier-ignore
    expect(row.nextAttemptAt.getTime()).toBeGreaterThan(Date.now() + 10_000);
    const still = await token(id);
    expect([still.status, still.body.access_key_id]).toEqual([200, before.body.access_key_id]);

    await setRow(broker, id, { nextAttemptAt: new Date() });
    expect((await call(`/connections/${id}/refresh`, { method: 'POST' })).status).toBe(200);
    expect(await connectionRow(broker, id)).toMatchObject({ status: 'active', refreshFailures: 0 });
  });

  it('a trust policy switched off later → needs_reauth, and 409 for the expired credentials', async () => {
    const id = await connected('switched-off');
    sts.denyAll(role('switched-off'));
    await setRow(broker, id, { expiresAt: new Date(Date.now() - 1000) });
    const read = await token(id);
    expect([read.status, read.body.code]).toEqual([409, 'needs_reauth']);
    expect(await connectionRow(broker, id)).toMatchObject({
      status: 'needs_reauth',
      lastErrorCode: 'aws_assume_role_denied',
    });
    const calls = sts.assumeRoleCalls(role('switched-off')).length;
    expect((await token(id)).status).toBe(409);
    expect(sts.assumeRoleCalls(role('switched-off')).length).toBe(calls); // no more attempts

    // Trusting the broker again and connecting again brings the connection back.
    sts.setTrust(role('switched-off'), { externalId });
    const again = await call('/aws/connect', { method: 'POST', body: { role_arn: role('switched-off') } }); // prettier-ignore
    expect([again.status, (again.body as { status: string }).status]).toEqual([200, 'active']);
  });

  it('disconnects: 204, the secret destroyed (nothing to revoke at STS), the row revoked', async () => {
    const id = await connected('disconnected');
    const calls = sts.calls.length;
    expect((await call(`/connections/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect(sts.calls.length).toBe(calls);
    expect(broker.vault.values().filter((v) => v.path.includes(`connections/${id}`))).toEqual([]);
    expect((await connectionRow(broker, id)).status).toBe('revoked');
  });

  it('the worker refreshes a due AWS connection by itself', async () => {
    await broker.startWorker();
    const id = await connected('scheduled');
    await setRow(broker, id, { expiresAt: new Date(Date.now() + 60_000) });
    expect(await eventually(async () => (await connectionRow(broker, id)).vaultVersion === 2)).toBe(true); // prettier-ignore
    const row = await connectionRow(broker, id);
    expect(row.status).toBe('active');
    expect(row.expiresAt?.getTime()).toBeGreaterThan(Date.now() + 3500_000);
    expect(assumed('scheduled').filter((c) => c.params.ExternalId === externalId)).toHaveLength(2);
  });

  it('keeps the secret keys and session tokens out of Postgres, Redis (jobs included), logs and lists', async () => {
    const list = await call('/connections?provider=aws');
    expect(list.status).toBe(200);
    const secrets = [...sts.issuedSecrets(), sts.broker.secretAccessKey];
    const places = await broker.placesOutsideVault(responses);
    expect(leaksIn(places, secrets)).toEqual(NO_LEAKS);
    // The search does see the refresh queue; done jobs are removed, and a job's payload is the
    // connection id only (jobs/queues.ts), so no credential could ride in one.
    expect(places.redis).toContain(':bull:refresh:');
  });
});
