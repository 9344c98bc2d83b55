import bcrypt from 'bcryptjs';
import { type FakeGoogle, startFakeGoogle } from '../fakes/google/fake-google';
import { connectAndClaimGcp } from '../fakes/google/browser';
import { type FakeGoogleApis, startFakeGoogleApis } from '../fakes/google-apis/fake-google-apis';
import { REQUIRED_APIS, waitForSetup } from '../support/setup-runs';
import { BrokerHarness } from '../support/broker';

interface BoardQueue {
  name: string;
  jobs: { id: string; name: string; data: unknown; progress: unknown; returnValue: unknown }[];
}

/**
 * A worker killed (SIGKILL) in the middle of enable_apis: BullMQ's stalled-job check hands the
 * job to a second worker once the dead one's lock lapses (SETUP_JOB_LOCK_MS), and the run resumes
 * — polling the operation the first worker started instead of enabling again. Then the dashboard
 * shows the finished job, to admins only.
 */
describe('GCP setup survives a worker crash; job dashboard (e2e)', () => {
  let google: FakeGoogle;
  let apis: FakeGoogleApis;
  let broker: BrokerHarness;
  const adminPassword = 'correct horse battery staple';

  beforeAll(async () => {
    google = await startFakeGoogle();
    apis = await startFakeGoogleApis({
      isValidToken: (t) => google.grants.liveAccessToken(t) !== undefined,
    });
    broker = await BrokerHarness.start({
      env: {
        ...google.env(),
        GCP_API_ROOT_URL: apis.url,
        GCP_REQUIRED_APIS: REQUIRED_APIS.join(','),
        GCP_SETUP_POLL_MS: '50',
        GCP_SETUP_RETRY_BASE_MS: '50',
        GCP_SETUP_OPERATION_TIMEOUT_SECONDS: '120',
        // Short enough for a fast test, long enough that a loaded CI box renews locks in time.
        SETUP_JOB_LOCK_MS: '4000',
        SETUP_JOB_STALLED_INTERVAL_MS: '1000',
        SETUP_JOB_MAX_STALLED: '5',
        ADMIN_USER: 'ops',
        ADMIN_PASSWORD_HASH: bcrypt.hashSync(adminPassword, 4),
      },
    });
  });
  afterAll(async () => {
    await broker.close();
    await apis.close();
    await google.close();
  });

  let token: string;
  let id: string;

  it('finishes the run on a new worker after the first is killed mid-step', async () => {
    apis.setProjects([{ projectId: 'crash-one' }]);
    apis.operationPolls = Number.MAX_SAFE_INTEGER; // the first operation never finishes
    const first = await broker.startWorker();
    token = await broker.userToken('crash-user');
    id = (await connectAndClaimGcp(broker, token)).connectionId;
    await waitForSetup(
      broker,
      token,
      id,
      (v) => v.current_step === 'enable_apis' && apis.callsOf('operations.get').length > 2,
    );
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    const stuck = (await broker.request(`/connections/${id}/setup`, { token })).body as {
      status: string;
    };
    expect(stuck.status).toBe('running');

    apis.operationPolls = 0;
    await broker.startWorker();
    const view = await waitForSetup(broker, token, id);
    expect(view.status).toBe('succeeded');
    expect(apis.enabledServices('crash-one')).toEqual([...REQUIRED_APIS].sort());
    // The batch in flight when the worker died was resumed by its operation, not enabled again.
    expect(apis.callsOf('services.batchEnable').length).toBe(2);
    expect(apis.serviceAccounts('crash-one')).toHaveLength(2);
  });

  it('serves Bull Board at /admin/queues to admins only, with every queue and the finished job', async () => {
    const anonymous = await broker.request('/admin/queues');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic /);
    expect((await broker.request('/admin/queues', { token })).status).toBe(401);
    const reader = await broker.apiKey(['connections:read', 'tokens:read']);
    expect((await broker.request('/admin/queues/api/queues', { token: reader })).status).toBe(401);

    const basic = `Basic ${Buffer.from(`ops:${adminPassword}`).toString('base64')}`;
    const page = await broker.request('/admin/queues', { headers: { authorization: basic } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const wrong = `Basic ${Buffer.from('ops:nope').toString('base64')}`;
    expect(
      (await broker.request('/admin/queues', { headers: { authorization: wrong } })).status,
    ).toBe(401);

    const admin = await broker.apiKey(['admin']);
    const res = await broker.request(
      '/admin/queues/api/queues?activeQueue=setup&status=completed&page=1',
      {
        token: admin,
      },
    );
    expect(res.status).toBe(200);
    const queues = (res.body as { queues: BoardQueue[] }).queues;
    expect(queues.map((q) => q.name).sort()).toEqual(['refresh', 'setup', 'webhooks']);
    const jobs = queues.find((q) => q.name === 'setup')?.jobs ?? [];
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({
      name: 'gcp.setup',
      data: { connectionId: id },
      progress: { progress: 100 },
      returnValue: { status: 'succeeded' },
    });
  });
});
