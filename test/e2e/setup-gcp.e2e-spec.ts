import { type FakeGoogle, startFakeGoogle } from '../fakes/google/fake-google';
import { connectAndClaimGcp } from '../fakes/google/browser';
import { type FakeGoogleApis, startFakeGoogleApis } from '../fakes/google-apis/fake-google-apis';
import { REQUIRED_APIS, fastGcpSetupEnv, waitForSetup } from '../support/setup-runs';
import { BrokerHarness } from '../support/broker';

/**
 * GCP post-connect setup end to end: the real connect flow (OAuth emulator) enqueues `gcp.setup`,
 * a built worker runs the six steps against the Google Cloud API emulator, and the api reports
 * progress. Each test connects its own user and Google account, on its own projects.
 */
describe('GCP setup (e2e)', () => {
  let google: FakeGoogle;
  let apis: FakeGoogleApis;
  let broker: BrokerHarness;
  let n = 0;

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
        GCP_SETUP_MAX_PROJECTS: '3',
        SETUP_JOB_BACKOFF_MS: '100',
      },
    });
    await broker.startWorker();
  });
  afterAll(async () => {
    await broker.close();
    await apis.close();
    await google.close();
  });
  beforeEach(() => {
    apis.operationPolls = 2;
    apis.etagConflicts = 0;
    apis.propagationDelayMs = 0;
  });

  /** A new user connects a new Google account that sees `projects`; returns its token and connection id. */
  async function connect(
    projects: { id: string; billing?: boolean }[],
  ): Promise<{ token: string; id: string }> {
    n += 1;
    apis.setProjects(
      projects.map((p) => ({
        projectId: p.id,
        name: `Project ${p.id}`,
        billingEnabled: p.billing ?? true,
      })),
    );
    google.account = { sub: `10485760000000000${1000 + n}`, email: `user${n}@example.com` };
    const token = await broker.userToken(`setup-user-${n}`);
    const id = (await connectAndClaimGcp(broker, token)).connectionId;
    return { token, id };
  }

  const count = (op: string, part?: string) => apis.callsOf(op, part).length;

  it('runs all six steps to succeeded, in batches of 20, and the connection follows', async () => {
    const { token, id } = await connect([{ id: 'alpha-one' }, { id: 'alpha-two' }]);
    const view = await waitForSetup(broker, token, id);
    expect(view.status).toBe('succeeded');
    expect(view.progress).toBe(100);
    expect(view.steps.map((s) => [s.name, s.status])).toEqual([
      ['list_projects', 'succeeded'],
      ['enable_apis', 'succeeded'],
      ['service_accounts', 'succeeded'],
      ['iam_bindings', 'succeeded'],
      ['propagation_check', 'succeeded'],
      ['billing_exports', 'succeeded'],
    ]);
    for (const project of ['alpha-one', 'alpha-two']) {
      expect(apis.enabledServices(project)).toEqual([...REQUIRED_APIS].sort());
      const batches = apis.callsOf('services.batchEnable', `/projects/${project}/`);
      expect(batches.map((c) => (c.body as { serviceIds: string[] }).serviceIds.length)).toEqual([
        20, 5,
      ]);
    }
    // Accounts live in the first selected project; each project grants them the default roles.
    const accounts = apis.serviceAccounts('alpha-one');
    expect(accounts).toHaveLength(2);
    expect(
      accounts.every((a) =>
        /^cbk-(rw|ro)-[0-9a-f]{12}@alpha-one\.iam\.gserviceaccount\.com$/.test(a),
      ),
    ).toBe(true);
    const bindings = apis.policy('alpha-two').bindings;
    const rw = accounts.find((a) => a.startsWith('cbk-rw-'));
    const ro = accounts.find((a) => a.startsWith('cbk-ro-'));
    // The default roles: the read-write account reads what the read-only one does and writes
    // Compute instances and BigQuery data; nobody gets roles/editor.
    const membersOf = (role: string) => bindings.find((b) => b.role === role)?.members;
    expect(membersOf('roles/viewer')).toEqual([`serviceAccount:${rw}`, `serviceAccount:${ro}`]);
    for (const role of [
      'roles/compute.instanceAdmin.v1',
      'roles/bigquery.dataEditor',
      'roles/bigquery.jobUser',
      'roles/serviceusage.serviceUsageConsumer',
    ]) {
      expect(membersOf(role)).toEqual([`serviceAccount:${rw}`]);
    }
    expect(membersOf('roles/editor')).toBeUndefined();
    expect(bindings.find((b) => b.role === 'roles/owner')?.members).toEqual([
      'user:owner@example.com',
    ]);

    const connection = await broker.request(`/connections/${id}`, { token });
    expect(connection.body).toMatchObject({
      setup_status: 'succeeded',
      metadata: { root_project_id: 'alpha-one' },
    });

    // Payloads carry ids only; no token the OAuth emulator issued is anywhere in Redis.
    const redis = await broker.dumpRedis();
    expect(redis).toContain(id);
    for (const secret of google.grants.allSecrets()) expect(redis).not.toContain(secret);
    const db = await broker.dumpDatabase();
    for (const secret of google.grants.allSecrets()) expect(db).not.toContain(secret);
  });

  it('finds the billing export tables of the selected projects and keeps where they are', async () => {
    apis.setDatasets('bill-one', [
      { datasetId: 'analytics', location: 'US', tables: ['events'] },
      {
        datasetId: 'billing_export',
        location: 'EU',
        tables: [
          'gcp_billing_export_v1_01A2B3_C4D5E6_F7A8B9',
          'gcp_billing_export_resource_v1_01A2B3_C4D5E6_F7A8B9',
          'cloud_pricing_export',
        ],
      },
    ]);
    apis.disableBigQuery('bill-off');
    const { token, id } = await connect([{ id: 'bill-one' }, { id: 'bill-off' }]);
    const view = await waitForSetup(broker, token, id);
    expect(view.status).toBe('succeeded');
    const step = view.steps.find((s) => s.name === 'billing_exports');
    expect(step?.status).toBe('succeeded');
    expect(step?.detail).toContain('2 billing export table(s)');
    expect(step?.detail).toContain('BigQuery not readable in bill-off');
    const steps = view.result?.steps as Record<string, Record<string, unknown>>;
    expect(steps.billing_exports.exports).toEqual([
      {
        project_id: 'bill-one',
        dataset_id: 'billing_export',
        table_id: 'gcp_billing_export_v1_01A2B3_C4D5E6_F7A8B9',
        location: 'EU',
        kind: 'standard',
      },
      {
        project_id: 'bill-one',
        dataset_id: 'billing_export',
        table_id: 'gcp_billing_export_resource_v1_01A2B3_C4D5E6_F7A8B9',
        location: 'EU',
        kind: 'detailed',
      },
    ]);
    expect(steps.billing_exports.unreadable).toEqual([
      { project_id: 'bill-off', reason: expect.stringContaining('BigQuery refused') },
    ]);
  });

  it('succeeds with the console hint when no billing export exists', async () => {
    apis.setDatasets('nobill-one', [{ datasetId: 'analytics', tables: ['events'] }]);
    const { token, id } = await connect([{ id: 'nobill-one' }]);
    const view = await waitForSetup(broker, token, id);
    expect(view.status).toBe('succeeded');
    const step = view.steps.find((s) => s.name === 'billing_exports');
    expect(step).toMatchObject({ status: 'succeeded' });
    expect(step?.detail).toContain('no billing export found');
    expect(step?.detail).toContain('Billing → Billing export → BigQuery export');
    expect(apis.callsOf('tables.list', '/nobill-one/datasets/analytics/')).toHaveLength(1);
  });

  it('asks for a selection above GCP_SETUP_MAX_PROJECTS, then sets up only the chosen projects', async () => {
    const projects = ['sel-a1', 'sel-b2', 'sel-c3', 'sel-d4'].map((p) => ({
      id: p,
      billing: p !== 'sel-b2',
    }));
    const { token, id } = await connect(projects);
    const waiting = await waitForSetup(broker, token, id);
    expect(waiting.status).toBe('needs_selection');
    // Billing-enabled projects come first; the one without billing is listed all the same.
    expect(waiting.eligible_projects?.map((p) => [p.project_id, p.billing_enabled])).toEqual([
      ['sel-a1', true],
      ['sel-c3', true],
      ['sel-d4', true],
      ['sel-b2', false],
    ]);
    expect(count('services.batchEnable', '/sel-')).toBe(0);

    const retry = (body: unknown) =>
      broker.request(`/connections/${id}/setup/retry`, { method: 'POST', token, body });
    const missing = await retry({});
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({
      code: 'validation_failed',
      errors: [{ path: 'project_ids' }],
    });
    const unknown = await retry({ project_ids: ['sel-a1', 'someone-elses'] });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body)).toContain('someone-elses');
    expect((await retry({ project_ids: ['sel-a1', 'sel-b2', 'sel-c3', 'sel-d4'] })).status).toBe(
      400,
    );

    const accepted = await retry({ project_ids: ['sel-d4', 'sel-b2'] });
    expect(accepted.status).toBe(202);
    const view = await waitForSetup(
      broker,
      token,
      id,
      (v) => v.status === 'succeeded' || v.status === 'failed',
    );
    expect(view.status).toBe('succeeded');
    expect(view.selection).toEqual(['sel-d4', 'sel-b2']);
    expect(view.steps.find((s) => s.name === 'enable_apis')?.detail).toContain(
      'skipped (no billing): sel-b2',
    );
    // Only the chosen projects were touched; the one without billing got no API enablement.
    expect(count('services.batchEnable', '/sel-d4/')).toBe(2);
    expect(count('services.batchEnable', '/sel-b2/')).toBe(0);
    for (const other of ['sel-a1', 'sel-c3']) {
      expect(count('services.batchEnable', `/${other}/`)).toBe(0);
      expect(count('projects.setIamPolicy', `/${other}:`)).toBe(0);
    }
    expect(count('projects.setIamPolicy', '/sel-d4:')).toBe(1);
    expect(count('projects.setIamPolicy', '/sel-b2:')).toBe(1);
    expect(apis.serviceAccounts('sel-d4')).toHaveLength(2);
  });

  it('retries setIamPolicy after etag conflicts', async () => {
    apis.etagConflicts = 2;
    const { token, id } = await connect([{ id: 'etag-one' }]);
    const view = await waitForSetup(broker, token, id);
    expect(view.status).toBe('succeeded');
    const sets = apis.callsOf('projects.setIamPolicy', '/etag-one:');
    expect(sets.map((c) => c.status)).toEqual([409, 409, 200]);
    expect(count('projects.getIamPolicy', '/etag-one:')).toBe(3);
  });

  it('waits for IAM propagation within the deadline', async () => {
    apis.propagationDelayMs = 800;
    const { token, id } = await connect([{ id: 'prop-within' }]);
    const view = await waitForSetup(broker, token, id);
    expect(view.status).toBe('succeeded');
    const checks = apis
      .callsOf('generateAccessToken')
      .filter((c) => c.path.includes('@prop-within.'));
    expect(checks.some((c) => c.status === 403)).toBe(true);
    expect(checks.filter((c) => c.status === 200)).toHaveLength(2);
  });

  it('ends partial when propagation misses the deadline; a retry re-runs only that step', async () => {
    apis.propagationDelayMs = 600_000;
    const { token, id } = await connect([{ id: 'prop-beyond' }]);
    const view = await waitForSetup(broker, token, id);
    expect(view.status).toBe('partial');
    const step = view.steps.find((s) => s.name === 'propagation_check');
    expect(step).toMatchObject({ status: 'partial', error_code: 'gcp_propagation_timeout' });
    expect((await broker.request(`/connections/${id}`, { token })).body).toMatchObject({
      setup_status: 'partial',
    });

    apis.propagationDelayMs = 0;
    const before = apis.calls.length;
    const retry = await broker.request(`/connections/${id}/setup/retry`, { method: 'POST', token });
    expect(retry.status).toBe(202);
    const again = await waitForSetup(
      broker,
      token,
      id,
      (v) => v.status === 'succeeded' && v.attempts === 1,
    );
    expect(again.steps.every((s) => s.status === 'succeeded')).toBe(true);
    // Finished steps made no call at all the second time.
    expect(new Set(apis.calls.slice(before).map((c) => c.op))).toEqual(
      new Set(['generateAccessToken']),
    );
  });

  it('stops at a 403 with the roles the user lacks, without retrying', async () => {
    apis.deny('serviceAccounts.create', 'iam.serviceAccounts.create');
    try {
      const { token, id } = await connect([{ id: 'denied-sa' }]);
      const view = await waitForSetup(broker, token, id);
      expect(view.status).toBe('failed');
      expect(view.error_code).toBe('gcp_permission_denied');
      const step = view.steps.find((s) => s.name === 'service_accounts');
      expect(step).toMatchObject({ status: 'failed', error_code: 'gcp_permission_denied' });
      expect(step?.detail).toContain('roles/iam.serviceAccountAdmin');
      expect(step?.detail).toContain('iam.serviceAccounts.create');
      expect(view.result?.missing_roles).toEqual(['roles/iam.serviceAccountAdmin']);
      expect(count('serviceAccounts.create', '/denied-sa/')).toBe(1);
      expect((await broker.request(`/connections/${id}`, { token })).body).toMatchObject({
        setup_status: 'failed',
      });
    } finally {
      apis.allow('serviceAccounts.create');
    }
  });
});
