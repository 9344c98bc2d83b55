import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { SchedulerRegistry } from '@nestjs/schedule';
import {
  type RefreshStateRepository,
  type DueConnection,
  type DueQuery,
} from '../../../../src/database/repositories/refresh-state.repository';
import { LifecycleMetrics } from '../../../../src/lifecycle/lifecycle-metrics';
import { RedisLock } from '../../../../src/lifecycle/redis-lock';
import {
  DUE_PAGE_SIZE,
  type RefreshQueue,
  RefreshScheduler,
} from '../../../../src/lifecycle/refresh/refresh-scheduler';
import { MetricsService } from '../../../../src/metrics/metrics.service';
import { testConfig } from '../../../support/test-config';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Due rows in keyset order; answers findDue like the SQL does. */
class FakeDueRows {
  readonly queries: DueQuery[] = [];
  constructor(readonly rows: DueConnection[]) {
    rows.sort((a, b) => a.expiresAt.getTime() - b.expiresAt.getTime() || a.id.localeCompare(b.id));
  }
  findDue = async (query: DueQuery): Promise<DueConnection[]> => {
    this.queries.push(query);
    const after = query.after;
    return this.rows
      .filter((r) => r.expiresAt < query.expiresBefore)
      .filter(
        (r) =>
          !after ||
          r.expiresAt > after.expiresAt ||
          (r.expiresAt.getTime() === after.expiresAt.getTime() && r.id > after.id),
      )
      .slice(0, query.limit);
  };
  soonestExpiry = async (): Promise<Date | null> => this.rows[0]?.expiresAt ?? null;
}

interface Added {
  name: string;
  data: { connectionId: string };
  opts: { jobId: string; delay: number; attempts: number };
}

describe('RefreshScheduler', () => {
  const prefix = `cbk_unit_sched_${randomBytes(4).toString('hex')}:`;
  let redis: Redis;
  const config = testConfig({
    lifecycle: { refreshWindowSeconds: 300, refreshIntervalSeconds: 30, refreshConcurrency: 10 },
  });

  beforeAll(() => {
    redis = new Redis(REDIS_URL, { keyPrefix: prefix });
  });
  afterAll(async () => {
    const raw = new Redis(REDIS_URL);
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length > 0) await raw.del(...keys);
    raw.disconnect();
    redis.disconnect();
  });

  function scheduler(rows: FakeDueRows, added: Added[]): RefreshScheduler {
    const queue: RefreshQueue = {
      addBulk: async (jobs) => {
        added.push(...(jobs as unknown as Added[]));
        return [];
      },
    };
    return new RefreshScheduler(
      config,
      rows as unknown as RefreshStateRepository,
      queue,
      new RedisLock(redis),
      new LifecycleMetrics(new MetricsService()),
      new SchedulerRegistry(),
    );
  }

  it('pages every due row by keyset and enqueues one deduplicated job each, ids only', async () => {
    const now = Date.now();
    const sameExpiry = new Date(now + 60_000);
    const due = Array.from({ length: DUE_PAGE_SIZE * 2 + 7 }, (_, i) => ({
      id: randomUUID(),
      // Many share an expiry, so the keyset must use the id to page past them.
      expiresAt: i % 3 === 0 ? sameExpiry : new Date(now + 1_000 + i * 100),
    }));
    const later = { id: randomUUID(), expiresAt: new Date(now + 3_600_000) };
    const rows = new FakeDueRows([...due, later]);
    const added: Added[] = [];
    const result = await scheduler(rows, added).tick(now);

    expect(result).toEqual({ leader: true, due: due.length, pages: 3 });
    expect(rows.queries).toHaveLength(3);
    expect(rows.queries[0].after).toBeUndefined();
    expect(rows.queries[0].expiresBefore.getTime()).toBe(now + 300_000);
    expect(rows.queries[0].now.getTime()).toBe(now);
    expect(new Set(added.map((a) => a.data.connectionId))).toEqual(new Set(due.map((d) => d.id)));
    expect(added).toHaveLength(due.length);
    for (const job of added) {
      const row = due.find((d) => d.id === job.data.connectionId);
      expect(job.name).toBe('connection.refresh');
      expect(Object.keys(job.data)).toEqual(['connectionId']);
      expect(job.opts.jobId).toBe(`refresh:${row?.id}:${row?.expiresAt.getTime()}`);
      expect(job.opts.attempts).toBe(1);
      // All of these are in the urgent half of the window: no jitter delay.
      expect(job.opts.delay).toBe(0);
    }
  });

  it('spreads jobs for tokens with slack over the first half of the window', async () => {
    const now = Date.now();
    const fleet = Array.from({ length: 200 }, () => ({
      id: randomUUID(),
      expiresAt: new Date(now + 290_000),
    }));
    const added: Added[] = [];
    await redis.del('lock:refresh-scheduler');
    await scheduler(new FakeDueRows(fleet), added).tick(now);
    const delays = added.map((a) => a.opts.delay);
    expect(Math.max(...delays)).toBeLessThan(140_000);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(new Set(delays).size).toBeGreaterThan(150);
  });

  it('only the lease holder ticks: a second replica enqueues nothing', async () => {
    await redis.del('lock:refresh-scheduler');
    const rows = new FakeDueRows([{ id: randomUUID(), expiresAt: new Date(Date.now() + 1000) }]);
    const first: Added[] = [];
    const second: Added[] = [];
    const a = scheduler(rows, first);
    const b = scheduler(rows, second);
    expect((await a.tick()).leader).toBe(true);
    expect((await b.tick()).leader).toBe(false);
    expect((await a.tick()).leader).toBe(true);
    expect(first).toHaveLength(2);
    expect(second).toHaveLength(0);
    // The leader steps down at shutdown; the other replica takes over at its next tick.
    await a.onApplicationShutdown();
    expect((await b.tick()).leader).toBe(true);
    expect(second).toHaveLength(1);
  });
});
