import { Client } from 'pg';
import { BrokerHarness } from '../support/broker';
import { ADMIN_DATABASE_URL } from '../support/postgres';
import { seedConnections } from '../support/seed';

/**
 * SPEC §8, last rule: when Postgres terminates the broker's sessions mid-request, requests answer
 * 503 problem+json naming the database (with Retry-After) or succeed through the retry of an
 * idempotent read — never a 500 — and everything works again by itself.
 */
describe('Postgres terminating the broker sessions (e2e)', () => {
  let broker: BrokerHarness;
  let admin: Client;
  let alice: string;

  beforeAll(async () => {
    broker = await BrokerHarness.start();
    alice = await broker.userToken('alice');
    await seedConnections(
      broker.dataSource,
      Array.from({ length: 30 }, () => ({ userId: 'alice' })),
    );
    admin = new Client({ connectionString: ADMIN_DATABASE_URL });
    await admin.connect();
  });
  afterAll(async () => {
    if (process.env.CBK_DEBUG_OUTAGE) process.stderr.write(broker.api.output().slice(-6000));
    await admin.end();
    await broker.close();
  });

  /** Ends every session of the broker's database except the test's own. */
  async function terminateBackends(): Promise<number> {
    const res = await admin.query<{ n: string }>(
      `SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity
        WHERE datname = $1 AND pid <> pg_backend_pid()`,
      [broker.db.name],
    );
    return Number(res.rows[0]?.n ?? 0);
  }

  it('answers 200 or 503 database_unavailable with Retry-After, never a 500, and recovers', async () => {
    // The test's own data source is in the same database: keep it out of the count.
    const statuses = new Map<number, number>();
    const problems: { status: number; code: string; retryAfter: string | null; type: string }[] =
      [];
    let terminated = 0;
    let stop = false;
    const killer = (async () => {
      while (!stop) {
        terminated += await terminateBackends();
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
    const worker = async () => {
      for (let i = 0; i < 40; i++) {
        const res = await broker.request('/connections?limit=5', { token: alice });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status !== 200) {
          const body = res.body as { code?: string };
          problems.push({
            status: res.status,
            code: body.code ?? '',
            retryAfter: res.headers.get('retry-after'),
            type: res.headers.get('content-type') ?? '',
          });
        }
      }
    };
    await Promise.all(Array.from({ length: 6 }, worker));
    stop = true;
    await killer;

    expect(terminated).toBeGreaterThan(0);
    expect([...statuses.keys()].every((s) => s === 200 || s === 503)).toBe(true);
    for (const p of problems) {
      expect(p).toMatchObject({ status: 503, code: 'database_unavailable' });
      expect(p.retryAfter).toMatch(/^\d+$/);
      expect(p.type).toContain('application/problem+json');
    }

    // Within seconds of the sessions' end everything works again, without a restart.
    const deadline = Date.now() + 10_000;
    let ready = 0;
    while (Date.now() < deadline) {
      const [list, health] = await Promise.all([
        broker.request('/connections?limit=5', { token: alice }),
        broker.request('/health/ready'),
      ]);
      if (list.status === 200 && health.status === 200) {
        ready++;
        if (ready >= 3) break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(ready).toBeGreaterThanOrEqual(3);
  });
});
