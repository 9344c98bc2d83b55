import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { type AuditInput } from '../../../src/audit/audit.service';
import { AuthFailureAudit } from '../../../src/auth/auth-failure-audit';
import { ALLOWED_FOR_MS, AuthFailureLimiter } from '../../../src/auth/auth-failure-limiter';
import { FakeClock } from '../../support/fake-clock';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** SPEC §6: an anonymous flood costs neither the audit table nor the password hasher. */
describe('failed authentication floods', () => {
  it('audits rejected credentials in aggregate: one row per source, kind and minute, with a count', async () => {
    const rows: AuditInput[] = [];
    let now = Date.UTC(2026, 11, 1, 12, 0, 5);
    const audit = new AuthFailureAudit({ record: async (a) => void rows.push(a) }, () => now);
    const bad = { method: 'api_key', errorCode: 'unauthenticated', reason: 'unknown' } as const;
    for (let i = 0; i < 500; i++) audit.record(bad, '203.0.113.7');
    for (let i = 0; i < 3; i++) audit.record(bad, '198.51.100.2');
    await audit.flush(false); // the minute is not over: nothing yet
    expect(rows).toHaveLength(0);
    now += 60_000;
    audit.record(bad, '203.0.113.7'); // the next minute's first
    await audit.flush(false);
    expect(rows).toHaveLength(2);
    expect(rows.map((r) => r.details)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ source: '203.0.113.7', count: 500 }),
        expect.objectContaining({ source: '198.51.100.2', count: 3 }),
      ]),
    );
    await audit.onApplicationShutdown(); // the open minute is written at shutdown
    expect(rows).toHaveLength(3);
    expect(rows[2].details).toMatchObject({ source: '203.0.113.7', count: 1 });
  });

  it('refuses an address with 429 and Retry-After once it failed AUTH_FAILURE_LIMIT_PER_MINUTE times', async () => {
    const prefix = `cbk_unit_flood_${randomBytes(4).toString('hex')}:`;
    const client = new Redis(REDIS_URL, { keyPrefix: prefix });
    try {
      const limiter = new AuthFailureLimiter({ client }, 5, { now: () => 1_000_000_000_000 });
      for (let i = 0; i < 5; i++) {
        await limiter.assertAllowed('203.0.113.7');
        await limiter.recordFailure('203.0.113.7');
      }
      await expect(limiter.assertAllowed('203.0.113.7')).rejects.toMatchObject({
        code: 'rate_limited',
        status: 429,
        options: { headers: { 'retry-after': expect.stringMatching(/^\d+$/) } },
      });
      // Another address is not affected.
      await expect(limiter.assertAllowed('198.51.100.2')).resolves.toBeUndefined();

      // An address found under the limit is believed for a second without asking Redis again
      // (the token read's hot path), unless this process saw it fail meanwhile.
      const clock = new FakeClock({ start: 1_000_000_000_000 });
      const gets = jest.spyOn(client, 'get');
      const cached = new AuthFailureLimiter({ client }, 5, clock);
      await cached.assertAllowed('192.0.2.9');
      await cached.assertAllowed('192.0.2.9');
      expect(gets).toHaveBeenCalledTimes(1);
      // Another replica (another limiter) pushes it over the limit: seen once the second is over.
      for (let i = 0; i < 5; i++) await limiter.recordFailure('192.0.2.9');
      await expect(cached.assertAllowed('192.0.2.9')).resolves.toBeUndefined();
      clock.advance(ALLOWED_FOR_MS);
      await expect(cached.assertAllowed('192.0.2.9')).rejects.toMatchObject({ status: 429 });
      expect(gets).toHaveBeenCalledTimes(2);
      // Its own failures are counted at once: a failure clears what it believed.
      const own = new AuthFailureLimiter({ client }, 1, clock);
      await own.assertAllowed('192.0.2.10');
      await own.recordFailure('192.0.2.10');
      await expect(own.assertAllowed('192.0.2.10')).rejects.toMatchObject({ status: 429 });
      gets.mockRestore();
    } finally {
      const raw = new Redis(REDIS_URL);
      const keys = await raw.keys(`${prefix}*`);
      if (keys.length > 0) await raw.del(...keys);
      raw.disconnect();
      client.disconnect();
    }
  });
});
