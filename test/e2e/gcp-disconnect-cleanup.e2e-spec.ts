import { randomBytes } from 'node:crypto';
import { type FakeGoogle, startFakeGoogle } from '../fakes/google/fake-google';
import { connectAndClaimGcp } from '../fakes/google/browser';
import { findLeaks, untilLogged } from '../fakes/google/leaks';
import { type FakeGoogleApis, startFakeGoogleApis } from '../fakes/google-apis/fake-google-apis';
import { BrokerHarness } from '../support/broker';
import { freePort } from '../support/processes';
import { fastGcpSetupEnv, waitForSetup } from '../support/setup-runs';

interface AuditRow {
  action: string;
  outcome: string;
  error_code: string | null;
  details: Record<string, unknown>;
}

/**
 * DELETE /connections/:id after a finished GCP setup (SPEC §14): what setup made upstream goes
 * first — user-managed keys, the accounts' IAM bindings in every bound project, the service
 * accounts — then the grant is revoked. What Google refuses is left, logged, audited and named in
 * the `connection.revoked` event; the local deletion happens anyway.
 */
describe('GCP disconnect undoes setup (e2e)', () => {
  let google: FakeGoogle;
  let apis: FakeGoogleApis;
  let broker: BrokerHarness;
  let n = 0;
  const answers: string[] = [];

  beforeAll(async () => {
    google = await startFakeGoogle();
    apis = await startFakeGoogleApis({
      isValidToken: (t) => google.grants.liveAccessToken(t) !== undefined,
    });
    broker = await BrokerHarness.start({
      env: {
        ...google.env(),
        RATE_LIMIT_LOGIN_PER_MINUTE: '1000',
        ...fastGcpSetupEnv(apis.url),
        SETUP_JOB_BACKOFF_MS: '100',
        // Events are recorded in the outbox; nobody needs to receive them for this test.
        WEBHOOK_URL: `http://127.0.0.1:${await freePort()}/hooks`,
        WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}`,
      },
    });
    await broker.startWorker();
  });
  afterAll(async () => {
    await broker?.close();
    await apis?.close();
    await google?.close();
  });
  afterEach(() => apis.allow('serviceAccounts.delete'));

  /** A new user whose setup finished on two projects; the accounts and the grant's refresh token. */
  async function setUpUser() {
    n += 1;
    const root = `dc-root-${n}`;
    const other = `dc-other-${n}`;
    apis.setProjects([
      { projectId: root, billingEnabled: true },
      { projectId: other, billingEnabled: true },
    ]);
    google.account = { sub: `10485760000000007${100 + n}`, email: `dc-user${n}@example.com` };
    const token = await broker.userToken(`dc-user-${n}`);
    const id = (await connectAndClaimGcp(broker, token)).connectionId;
    expect((await waitForSetup(broker, token, id)).status).toBe('succeeded');
    const accounts = apis.serviceAccounts(root);
    expect(accounts).toHaveLength(2);
    const refreshToken = google.grants.issued.refresh.at(-1) as string;
    return { token, id, root, other, accounts, refreshToken };
  }

  const membersOf = (project: string) =>
    apis.policy(project).bindings.flatMap((b) => b.members.map((m) => `${b.role} ${m}`));
  const audits = (id: string) =>
    broker.dataSource.query<AuditRow[]>(
      `SELECT action, outcome, error_code, details FROM audit_events WHERE connection_id = $1 ORDER BY occurred_at`,
      [id],
    );
  async function revokedEvent(id: string) {
    const rows = await broker.dataSource.query<{ payload: Record<string, unknown> }[]>(
      `SELECT payload FROM webhook_events WHERE connection_id = $1 AND type = 'connection.revoked'`,
      [id],
    );
    expect(rows).toHaveLength(1);
    return rows[0].payload;
  }
  async function remove(token: string, id: string) {
    const res = await broker.request(`/connections/${id}`, { method: 'DELETE', token });
    answers.push(res.text);
    return res;
  }

  it('deletes the keys, the bindings in every bound project and the accounts, then revokes the grant', async () => {
    const { token, id, root, other, accounts, refreshToken } = await setUpUser();
    const [ro, rw] = accounts; // sorted: cbk-ro-… before cbk-rw-…
    const key = apis.addKey(rw); // someone made a key for the account since setup
    for (const project of [root, other]) {
      expect(membersOf(project).some((m) => m.includes(rw))).toBe(true);
    }
    const res = await remove(token, id);
    expect(res.status).toBe(204);
    expect(apis.serviceAccounts(root)).toEqual([]);
    expect(apis.keysOf(rw)).toEqual([]);
    expect(apis.callsOf('keys.delete').map((c) => c.status)).toEqual([200]);
    for (const project of [root, other]) {
      expect(membersOf(project)).toEqual(['roles/owner user:owner@example.com']);
    }
    expect(google.grants.refreshTokens.get(refreshToken)?.revoked).toBe(true);
    // Setup's cleanup came before the revoke (the grant is what allows it).
    const deleted = apis.callsOf('serviceAccounts.delete');
    expect(deleted.map((c) => c.status)).toEqual([200, 200]);

    const rows = await audits(id);
    expect(rows.map((r) => r.action)).not.toContain('connection.revoke_upstream');
    const removed = [
      key,
      `projects/${root}/iamPolicy`,
      `projects/${other}/iamPolicy`,
      ...[rw, ro].map((a) => `projects/${root}/serviceAccounts/${a}`),
      'oauth_grant',
    ];
    expect(rows.find((r) => r.action === 'connection.deleted')?.details).toEqual({
      upstream_removed: removed,
    });
    expect(await revokedEvent(id)).toMatchObject({
      connection: { id, status: 'revoked' },
      upstream_cleanup: { removed, left: [] },
    });
  });

  it('answers 204 when Google refuses the account delete, and reports what it left', async () => {
    const { token, id, root, other, accounts, refreshToken } = await setUpUser();
    apis.deny('serviceAccounts.delete', 'iam.serviceAccounts.delete');
    const res = await remove(token, id);
    expect(res.status).toBe(204);
    // Local deletion is whole: row revoked, every secret of the connection destroyed.
    const row = await broker.request(`/connections/${id}`, { token });
    expect((row.body as { status: string }).status).toBe('revoked');
    expect(broker.vault.values().filter((v) => v.path.includes(`connections/${id}`))).toEqual([]);
    // Upstream: the accounts stay; their bindings and the grant went all the same.
    expect(apis.serviceAccounts(root)).toEqual(accounts);
    expect(membersOf(other)).toEqual(['roles/owner user:owner@example.com']);
    expect(google.grants.refreshTokens.get(refreshToken)?.revoked).toBe(true);

    // The read-write account is deleted first, then the read-only one.
    const left = [...accounts].reverse().map((a) => ({
      resource: `projects/${root}/serviceAccounts/${a}`,
      reason: 'forbidden',
    }));
    const audit = (await audits(id)).find((r) => r.action === 'connection.revoke_upstream');
    expect(audit).toMatchObject({ outcome: 'partial', error_code: 'forbidden' });
    expect(audit?.details.left).toEqual(expect.arrayContaining(left));
    expect(audit?.details.left).toHaveLength(2);
    expect(audit?.details.removed).toEqual(
      expect.arrayContaining([`projects/${other}/iamPolicy`, 'oauth_grant']),
    );
    expect((await revokedEvent(id)).upstream_cleanup).toMatchObject({ left });
    const log = await untilLogged(
      () => broker.logs(),
      'upstream revoke failed; deleting locally anyway',
    );
    for (const a of accounts)
      expect(log).toContain(`projects/${root}/serviceAccounts/${a} (forbidden)`);
  });

  it('leaves no token it saw or minted anywhere outside Vault', async () => {
    // The cleanup minted access tokens of its own; they must be nowhere either.
    expect(google.grants.issued.access.length).toBeGreaterThan(2);
    expect(await findLeaks(broker, google, answers)).toEqual([]);
  });
});
