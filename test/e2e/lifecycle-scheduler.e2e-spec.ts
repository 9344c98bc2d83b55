import { BrokerHarness } from '../support/broker';
import { type RunningProcess } from '../support/processes';
import { type FakeGoogle, startFakeGoogle } from '../fakes/google/fake-google';
import {
  type TokenBody,
  connectionRow,
  eventually,
  refreshCalls,
  seedGcpConnection,
  setRow,
} from '../support/lifecycle-seed';

const GOOGLE_CALLS_PER_ATTEMPT = 2; // one broker attempt: the call and the one retry the Google client is allowed

/**
 * The worker's scheduler and refresh jobs, with a second api replica: automatic refresh, one
 * upstream call across processes, and the failure states as the scheduler sees them.
 */
describe('token lifecycle: scheduler, worker and replicas (e2e)', () => {
  let google: FakeGoogle;
  let broker: BrokerHarness;
  let secondApi: RunningProcess & { url: string };
  let worker: RunningProcess & { url: string };
  let alice: string;

  beforeAll(async () => {
    google = await startFakeGoogle();
    broker = await BrokerHarness.start({
      env: { ...google.env(), REFRESH_WINDOW_SECONDS: '300', REFRESH_INTERVAL_SECONDS: '1' },
    });
    [secondApi, worker] = await Promise.all([broker.startApi(), broker.startWorker()]);
    alice = await broker.userToken('alice');
  });

  afterAll(async () => {
    await broker?.close();
    await google?.close();
  });

  it('refreshes a due token automatically and leaves a fresh one alone', async () => {
    const due = await seedGcpConnection(broker, google, { userId: 'alice', expiresInSeconds: 60 });
    const fresh = await seedGcpConnection(broker, google, {
      userId: 'alice',
      expiresInSeconds: 3000,
    });
    expect(
      await eventually(
        async () => (await connectionRow(broker, due.connection.id)).vaultVersion === 2,
      ),
    ).toBe(true);
    const row = await connectionRow(broker, due.connection.id);
    expect(row.status).toBe('active');
    expect(row.expiresAt?.getTime()).toBeGreaterThan(Date.now() + 3000_000);
    expect(refreshCalls(google, due.refreshToken)).toBe(1);
    // A few more ticks: nothing more for either connection.
    await new Promise((r) => setTimeout(r, 2500));
    expect(refreshCalls(google, due.refreshToken)).toBe(1);
    expect(refreshCalls(google, fresh.refreshToken)).toBe(0);
    expect((await connectionRow(broker, fresh.connection.id)).vaultVersion).toBe(1);
    const token = await broker.request(`/connections/${due.connection.id}/token`, { token: alice });
    expect((token.body as TokenBody).access_token).not.toBe(due.accessToken);
    const metrics = await fetch(`${worker.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(
      /broker_token_refreshes_total\{provider="gcp",outcome="success",reason="ok",trigger="scheduled"\} [1-9]/,
    );
    expect(metrics).toMatch(/broker_token_refresh_due_backlog \d+/);
    expect(metrics).toMatch(/broker_token_soonest_expiry_seconds -?\d+/);
    // The api is never the scheduler's leader, yet its gauges are the true values too.
    const apiMetrics = (await broker.request('/metrics')).text;
    const soonest = /^broker_token_soonest_expiry_seconds (\S+)$/m.exec(apiMetrics)?.[1];
    expect(Number(soonest)).toBeGreaterThan(2000);
    expect(apiMetrics).toMatch(/^broker_token_refresh_due_backlog 0$/m);
    expect(apiMetrics).toMatch(/^broker_connections\{status="active"\} [2-9]$/m);
    expect(apiMetrics).toMatch(/^broker_connections\{status="revoked"\} 0$/m);
    expect(apiMetrics).toMatch(/^broker_queue_jobs\{queue="refresh",state="failed"\} 0$/m);
    expect(apiMetrics).toMatch(/^broker_queue_jobs\{queue="setup",state="waiting"\} \d+$/m);
  });

  it('two api processes and the worker racing for one due token make one upstream call', async () => {
    const seeded = await seedGcpConnection(broker, google, {
      userId: 'alice',
      expiresInSeconds: 3000,
    });
    google.latencyMs = 400;
    try {
      // Due now for everyone at once: the worker's next tick and 40 reads on two replicas.
      await setRow(broker, seeded.connection.id, { expiresAt: new Date(Date.now() + 30_000) });
      const reads = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          broker.request(`/connections/${seeded.connection.id}/token`, {
            token: alice,
            base: i % 2 === 0 ? broker.url : secondApi.url,
          }),
        ),
      );
      expect(reads.map((r) => r.status)).toEqual(Array.from({ length: 40 }, () => 200));
      const tokens = new Set(reads.map((r) => (r.body as TokenBody).access_token));
      expect(tokens.size).toBe(1);
      expect([...tokens][0]).not.toBe(seeded.accessToken);
      await new Promise((r) => setTimeout(r, 1500)); // let the worker's job (if any) finish too
    } finally {
      google.latencyMs = 0;
    }
    expect(refreshCalls(google, seeded.refreshToken)).toBe(1);
    expect((await connectionRow(broker, seeded.connection.id)).vaultVersion).toBe(2);
  });

  it('invalid_grant in a scheduled refresh → needs_reauth and no further attempts', async () => {
    google.failToken({ kind: 'invalid_grant' });
    const seeded = await seedGcpConnection(broker, google, {
      userId: 'alice',
      expiresInSeconds: 60,
    });
    expect(
      await eventually(
        async () => (await connectionRow(broker, seeded.connection.id)).status === 'needs_reauth',
      ),
    ).toBe(true);
    const calls = refreshCalls(google);
    await new Promise((r) => setTimeout(r, 2500));
    expect(refreshCalls(google)).toBe(calls);
    const res = await broker.request(`/connections/${seeded.connection.id}/token`, {
      token: alice,
    });
    expect(res.status).toBe(409);
  });

  it('a 503 in a scheduled refresh → refresh_failing, backoff without calls, then recovery', async () => {
    google.failToken({ kind: 'status', status: 503 }, GOOGLE_CALLS_PER_ATTEMPT);
    const seeded = await seedGcpConnection(broker, google, {
      userId: 'alice',
      expiresInSeconds: 60,
    });
    expect(
      await eventually(
        async () =>
          (await connectionRow(broker, seeded.connection.id)).status === 'refresh_failing',
      ),
    ).toBe(true);
    const failing = await connectionRow(broker, seeded.connection.id);
    expect(failing.refreshFailures).toBe(1);
    expect(failing.lastErrorCode).toBe('upstream_unavailable');
    expect(failing.nextAttemptAt.getTime()).toBeGreaterThan(Date.now() + 10_000);
    const calls = refreshCalls(google, seeded.refreshToken);
    expect(calls).toBe(GOOGLE_CALLS_PER_ATTEMPT);
    await new Promise((r) => setTimeout(r, 2500)); // ticks during the backoff: no calls
    expect(refreshCalls(google, seeded.refreshToken)).toBe(calls);
    // The still-valid token is served meanwhile.
    const during = await broker.request(`/connections/${seeded.connection.id}/token`, {
      token: alice,
    });
    expect((during.body as TokenBody).access_token).toBe(seeded.accessToken);

    await setRow(broker, seeded.connection.id, { nextAttemptAt: new Date(Date.now() - 1000) });
    expect(
      await eventually(
        async () => (await connectionRow(broker, seeded.connection.id)).status === 'active',
      ),
    ).toBe(true);
    const row = await connectionRow(broker, seeded.connection.id);
    expect(row.refreshFailures).toBe(0);
    expect(row.vaultVersion).toBe(2);
    expect(refreshCalls(google, seeded.refreshToken)).toBe(calls + 1);
  });
});
