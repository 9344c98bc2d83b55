import { AuditEventEntity } from '../../src/database/entities';
import { BrokerHarness } from '../support/broker';

/**
 * SPEC §6 and §8: failed authentication is limited per client address (429 problem+json with
 * Retry-After, before the credentials cost anything) and audited in aggregate.
 */
describe('anonymous floods (e2e)', () => {
  let broker: BrokerHarness;

  beforeAll(async () => {
    broker = await BrokerHarness.start({ env: { AUTH_FAILURE_LIMIT_PER_MINUTE: '5' } });
  });
  afterAll(() => broker.close());

  it('answers 429 with Retry-After after the limit, and writes one audit row for the flood', async () => {
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<BrokerHarness['request']>> | undefined;
    for (let i = 0; i < 12; i++) {
      const res = await broker.request('/connections', { token: `cbk_${'Q'.repeat(43)}` });
      statuses.push(res.status);
      if (res.status === 429) limited ??= res;
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5).every((s) => s === 429)).toBe(true);
    expect(limited?.headers.get('content-type')).toContain('application/problem+json');
    expect((limited?.body as { code: string }).code).toBe('rate_limited');
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThan(0);

    // While limited, even a good key from that address waits (the limit counts the address).
    const key = await broker.apiKey(['connections:read']);
    expect(
      (await broker.request(`/connections/${crypto.randomUUID()}`, { token: key })).status,
    ).toBe(429);

    // The audit: rows are written per source and minute (at the latest when the api stops).
    await broker.api.stop('SIGTERM');
    const rows = await broker.dataSource
      .getRepository(AuditEventEntity)
      .findBy({ action: 'auth.failed' });
    const counts = rows.map((r) => (r.details as { count?: number }).count ?? 0);
    expect(rows.length).toBeLessThanOrEqual(2); // one per minute boundary crossed, at most
    expect(counts.reduce((a, b) => a + b, 0)).toBe(5); // refused addresses cost no row
  });
});
