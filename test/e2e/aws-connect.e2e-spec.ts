import { createHash } from 'node:crypto';
import { type FakeSts, startFakeSts } from '../fakes/aws/fake-sts';
import { BrokerHarness, NO_LEAKS, leaksIn } from '../support/broker';
import { KV_MOUNT, connectionRow, kvPath } from '../support/lifecycle-seed';
import { seedConnections } from '../support/seed';

interface Connection {
  id: string;
  provider: string;
  account_ref: string;
  display_name: string;
  status: string;
  setup_status: string;
  expires_at: string;
  metadata: Record<string, unknown>;
}
interface Problem {
  code: string;
  detail: string;
  errors?: { path: string; message: string }[];
}
interface ExternalIdView {
  external_id: string;
  broker_principal_arn: string;
  trust_policy: Record<string, unknown>;
}

const ACCOUNT = '222222222222';
const GOOD = `arn:aws:iam::${ACCOUNT}:role/team/deploy`;
const OPEN = `arn:aws:iam::${ACCOUNT}:role/open-to-anyone`;
const DENIED = `arn:aws:iam::${ACCOUNT}:role/someone-elses`;
const SHORT = `arn:aws:iam::${ACCOUNT}:role/short-sessions`;

/** GET /aws/external-id and POST /aws/connect against the STS emulator (SPEC §13). */
describe('AWS connect (e2e)', () => {
  let sts: FakeSts;
  let broker: BrokerHarness;
  let alice: string;
  let aliceExternalId: string;
  const responses: string[] = [];

  async function call(
    path: string,
    init: {
      method?: string;
      body?: unknown;
      token?: string;
      headers?: Record<string, string>;
    } = {},
  ) {
    // prettier-ignore
    const res = await broker.request(path, { token: alice, ...init });
    responses.push(res.text);
    return res;
  }
  const latestSecret = (id: string) => {
    const versions = broker.vault.values().filter((v) => v.path.endsWith(`connections/${id}`));
    return versions.sort((a, b) => a.version - b.version)[versions.length - 1];
  };
  const connect = (body: unknown, token?: string) =>
    call('/aws/connect', { method: 'POST', body, ...(token ? { token } : {}) });

  beforeAll(async () => {
    sts = await startFakeSts();
    broker = await BrokerHarness.start({
      env: { ...sts.env(), RATE_LIMIT_LOGIN_PER_MINUTE: '1000' },
    });
    alice = await broker.userToken('alice');
  });
  afterAll(async () => {
    await broker?.close();
    await sts?.close();
  });

  it('makes one external id per user on first use, stable, with a ready trust policy', async () => {
    const first = await call('/aws/external-id');
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toContain('no-store');
    const view = first.body as ExternalIdView;
    aliceExternalId = view.external_id;
    expect(view.external_id).toMatch(/^cbk-[0-9a-f]{32}$/);
    // No AWS_BROKER_PRINCIPAL_ARN here: the broker asked GetCallerIdentity.
    expect(view.broker_principal_arn).toBe(sts.broker.principalArn);
    expect(view.trust_policy).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'CredentialBrokerAssumeRole',
          Effect: 'Allow',
          Principal: { AWS: sts.broker.principalArn },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'sts:ExternalId': view.external_id } },
        },
      ],
    });
    const again = await call('/aws/external-id');
    expect((again.body as ExternalIdView).external_id).toBe(aliceExternalId);
    const bob = await call('/aws/external-id', { token: await broker.userToken('bob') });
    expect((bob.body as ExternalIdView).external_id).not.toBe(aliceExternalId);
    expect(sts.calls.filter((c) => c.action === 'GetCallerIdentity')).toHaveLength(1); // cached
    const rows = await broker.dataSource.query<{ user_id: string; external_id: string }[]>(
      `SELECT user_id, external_id FROM external_ids WHERE provider = 'aws' ORDER BY user_id`,
    );
    expect(rows).toEqual([
      { user_id: 'alice', external_id: aliceExternalId },
      { user_id: 'bob', external_id: (bob.body as ExternalIdView).external_id },
    ]);

    const principal = sts.broker.principalArn;
    sts.addRole({ arn: GOOD, trustedPrincipal: principal, externalId: aliceExternalId, maxSessionDuration: 43200 }); // prettier-ignore
    sts.addRole({ arn: OPEN, trustedPrincipal: principal, externalId: null });
    sts.addRole({ arn: DENIED, trustedPrincipal: principal, externalId: 'cbk-not-alices' });
    sts.addRole({ arn: SHORT, trustedPrincipal: principal, externalId: aliceExternalId, maxSessionDuration: 3600 }); // prettier-ignore
  });

  let firstId: string;

  it('connects a role (201): AssumeRole with the external id, then the check without it', async () => {
    const before = sts.assumeRoleCalls(GOOD).length;
    const res = await connect({ role_arn: GOOD, region: 'eu-west-1' });
    expect(res.status).toBe(201);
    const c = res.body as Connection;
    firstId = c.id;
    expect(c).toMatchObject({
      provider: 'aws',
      account_ref: GOOD,
      display_name: `deploy (${ACCOUNT})`,
      status: 'active',
      setup_status: 'not_applicable',
      metadata: { role_arn: GOOD, account_id: ACCOUNT, region: 'eu-west-1', external_id: aliceExternalId }, // prettier-ignore
    });
    const expiresIn = new Date(c.expires_at).getTime() - Date.now();
    expect(expiresIn).toBeGreaterThan(3500_000);
    expect(expiresIn).toBeLessThanOrEqual(3600_000);

    const calls = sts.assumeRoleCalls(GOOD).slice(before);
    const sessionName = `cbk-${createHash('sha256').update('alice').digest('hex').slice(0, 32)}`;
    expect(
      calls.map((k) => [
        k.status,
        k.params.ExternalId,
        k.params.DurationSeconds,
        k.params.RoleSessionName,
      ]),
    ).toEqual([
      // prettier-ignore
      [200, aliceExternalId, '3600', sessionName],
      [403, undefined, '900', sessionName],
    ]);

    const stored = broker.vault.values().filter((v) => v.path.endsWith(`connections/${c.id}`));
    expect(stored).toHaveLength(1);
    expect(stored[0].data).toMatchObject({
      role_arn: GOOD,
      external_id: aliceExternalId,
      region: 'eu-west-1',
      duration_seconds: '3600',
      session_name: sessionName,
    });
    expect(sts.issuedSecrets()).toContain(stored[0].data.secret_access_key);
    expect(sts.issuedSecrets()).toContain(stored[0].data.session_token);
  });

  it('reconnecting the same role updates the connection (200), with the duration asked', async () => {
    const res = await connect({ role_arn: GOOD, session_duration_seconds: 7200 });
    expect(res.status).toBe(200);
    const c = res.body as Connection;
    expect(c.id).toBe(firstId);
    expect(new Date(c.expires_at).getTime() - Date.now()).toBeGreaterThan(7100_000);
    expect(c.metadata.region).toBe('us-east-1'); // the broker's AWS_REGION when none is given
    expect(sts.assumeRoleCalls(GOOD).at(-2)?.params.DurationSeconds).toBe('7200');
    const list = await call('/connections?provider=aws');
    expect((list.body as { items: Connection[] }).items.map((i) => i.id)).toEqual([firstId]);
  });

  it('reads the credentials, and the credential_process JSON', async () => {
    const stored = latestSecret(firstId);
    const token = await broker.request(`/connections/${firstId}/token`, { token: alice });
    expect(token.status).toBe(200);
    const row = await connectionRow(broker, firstId);
    expect(token.body).toEqual({
      token_type: 'aws_credentials',
      access_key_id: stored.data.access_key_id,
      secret_access_key: stored.data.secret_access_key,
      session_token: stored.data.session_token,
      expires_at: row.expiresAt?.toISOString(),
      region: 'us-east-1',
    });
    const process = await broker.request(`/connections/${firstId}/token?format=credential_process`, { token: alice }); // prettier-ignore
    expect(process.status).toBe(200);
    expect(process.body).toEqual({
      Version: 1,
      AccessKeyId: stored.data.access_key_id,
      SecretAccessKey: stored.data.secret_access_key,
      SessionToken: stored.data.session_token,
      Expiration: row.expiresAt?.toISOString(),
    });
    const other = await call(`/connections/${firstId}/token?format=json`);
    expect([other.status, (other.body as Problem).code]).toEqual([400, 'validation_failed']);
    expect((other.body as Problem).errors?.map((e) => e.path)).toEqual(['format']);
    const unknownParam = await call(`/connections/${firstId}/token?fromat=credential_process`);
    expect(unknownParam.status).toBe(400);
  });

  it('refuses format=credential_process for a connection of another provider', async () => {
    const [gcp] = await seedConnections(broker.dataSource, [{ userId: 'alice', provider: 'gcp' }]);
    broker.vault.kv.write(KV_MOUNT, kvPath(gcp.vaultPath), {
      access_token: 'ya29.e2e-gcp-token',
      token_type: 'Bearer',
    });
    const res = await call(`/connections/${gcp.id}/token?format=credential_process`);
    expect([res.status, (res.body as Problem).code]).toEqual([400, 'validation_failed']);
    expect((res.body as Problem).detail).toMatch(/only for connections of aws/);
    const plain = await broker.request(`/connections/${gcp.id}/token`, { token: alice });
    expect(plain.body).toMatchObject({ access_token: 'ya29.e2e-gcp-token', token_type: 'Bearer' });
  });

  it.each([
    ['not an ARN', { role_arn: 'deploy' }, 'role_arn'],
    ['a user ARN', { role_arn: `arn:aws:iam::${ACCOUNT}:user/alice` }, 'role_arn'],
    ['an 11-digit account', { role_arn: 'arn:aws:iam::22222222222:role/deploy' }, 'role_arn'],
    ['a duration below 900', { role_arn: GOOD, session_duration_seconds: 899 }, 'session_duration_seconds'], // prettier-ignore
    ['a duration above 43200', { role_arn: GOOD, session_duration_seconds: 43201 }, 'session_duration_seconds'], // prettier-ignore
    ['an unknown field', { role_arn: GOOD, external_id: 'cbk-mine' }, '(body)'],
  ])('answers 400 validation_failed for %s, before any STS call', async (_what, body, path) => {
    const calls = sts.calls.length;
    const res = await connect(body);
    expect([res.status, (res.body as Problem).code]).toEqual([400, 'validation_failed']);
    expect((res.body as Problem).errors?.map((e) => e.path)).toContain(path);
    expect(sts.calls.length).toBe(calls);
  });

  it('answers 422 aws_assume_role_denied with a hint about the trust policy', async () => {
    const res = await connect({ role_arn: DENIED });
    expect([res.status, (res.body as Problem).code]).toEqual([422, 'aws_assume_role_denied']);
    expect((res.body as Problem).detail).toMatch(/trust policy/);
    expect((res.body as Problem).detail).toContain('/aws/external-id');
    expect(res.text).not.toContain('is not authorized to perform'); // no raw STS message
  });

  it('answers 422 aws_external_id_not_enforced for a role open without the id, storing nothing', async () => {
    const res = await connect({ role_arn: OPEN });
    expect([res.status, (res.body as Problem).code]).toEqual([422, 'aws_external_id_not_enforced']);
    expect(sts.assumeRoleCalls(OPEN).map((c) => [c.status, c.params.ExternalId])).toEqual([
      [200, aliceExternalId],
      [200, undefined],
    ]);
    const rows = await broker.dataSource.query<unknown[]>(
      `SELECT id FROM connections WHERE account_ref = $1`,
      [OPEN],
    );
    expect(rows).toEqual([]);
    const open = sts.issuedSecrets().slice(-4); // both sessions' secret keys and tokens
    expect(JSON.stringify(broker.vault.values())).not.toContain(open[0]);
    expect(JSON.stringify(broker.vault.values())).not.toContain(open[2]);
    const audit = await broker.dataSource.query<{ error_code: string }[]>(
      `SELECT error_code FROM audit_events WHERE action = 'connection.refused'`,
    );
    expect(audit.map((a) => a.error_code)).toEqual(['aws_external_id_not_enforced']);
  });

  it("answers 422 aws_session_duration_too_long above the role's MaxSessionDuration", async () => {
    const res = await connect({ role_arn: SHORT, session_duration_seconds: 7200 });
    expect([res.status, (res.body as Problem).code]).toEqual([
      422,
      'aws_session_duration_too_long',
    ]);
    expect((res.body as Problem).detail).toMatch(/MaxSessionDuration/);
    expect((await connect({ role_arn: SHORT, session_duration_seconds: 3600 })).status).toBe(201);
  });

  it('answers 503 provider_unavailable while STS fails, and connects once it answers', async () => {
    sts.failNext(2, 503); // the call and its one retry
    const res = await connect({ role_arn: GOOD });
    expect([res.status, (res.body as Problem).code]).toEqual([503, 'provider_unavailable']);
    expect((await connect({ role_arn: GOOD })).status).toBe(200);
  });

  it('acts for a user with an API key and X-On-Behalf-Of, like /azure/login', async () => {
    const key = await broker.apiKey(['connections:write', 'connections:read']);
    const view = await call('/aws/external-id', { token: key, headers: { 'x-on-behalf-of': 'alice' } }); // prettier-ignore
    expect((view.body as ExternalIdView).external_id).toBe(aliceExternalId);
    const res = await call('/aws/connect', { method: 'POST', token: key, headers: { 'x-on-behalf-of': 'alice' }, body: { role_arn: GOOD } }); // prettier-ignore
    expect([res.status, (res.body as Connection).id]).toEqual([200, firstId]);
    const anonymous = await broker.request('/aws/external-id');
    expect(anonymous.status).toBe(401);
  });

  it('disconnects (204: secret destroyed, row revoked, nothing asked of STS) and reconnects the same row', async () => {
    const before = await connectionRow(broker, firstId);
    const calls = sts.calls.length;
    const del = await call(`/connections/${firstId}`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    expect(sts.calls.length).toBe(calls); // STS sessions cannot be revoked
    expect(broker.vault.values().filter((v) => v.path.includes(`connections/${firstId}`))).toEqual([]); // prettier-ignore
    expect((await connectionRow(broker, firstId)).status).toBe('revoked');
    const gone = await call(`/connections/${firstId}/token`);
    expect(gone.status).toBe(404);

    const again = await connect({ role_arn: GOOD });
    expect([again.status, (again.body as Connection).id]).toEqual([200, firstId]);
    expect((again.body as Connection).status).toBe('active');
    const after = await connectionRow(broker, firstId);
    expect(after.vaultPath).not.toBe(before.vaultPath);
    const token = await broker.request(`/connections/${firstId}/token`, { token: alice });
    expect(token.status).toBe(200);
  });

  it('keeps every secret key and session token out of Postgres, Redis, logs and responses', async () => {
    const secrets = [...sts.issuedSecrets(), sts.broker.secretAccessKey];
    expect(sts.issuedSecrets().length).toBeGreaterThan(8);
    const places = await broker.placesOutsideVault(responses);
    expect(leaksIn(places, secrets)).toEqual(NO_LEAKS);
    expect(places.postgres).toContain(aliceExternalId); // the search does see the rows
    expect(JSON.stringify(broker.vault.values())).toContain(sts.issuedSecrets().at(-1));
  });
});
