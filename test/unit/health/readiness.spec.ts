import { type DataSource } from 'typeorm';
import { ReadinessService } from '../../../src/health/readiness.service';
import { type RedisService } from '../../../src/redis/redis.module';
import { type SecretStore } from '../../../src/secrets/secret-store';

/** /health/ready: one check at a time, cached about a second, no upstream error text. */
describe('ReadinessService', () => {
  function service(store: Partial<SecretStore>) {
    let queries = 0;
    const dataSource = {
      query: async () => {
        queries++;
        await new Promise((r) => setTimeout(r, 20));
        return [{ '?column?': 1 }];
      },
    } as unknown as DataSource;
    const redis = { ping: async () => true } as unknown as RedisService;
    const readiness = new ReadinessService(dataSource, redis, {
      kind: 'vault',
      ...store,
    } as SecretStore);
    return { readiness, queries: () => queries };
  }

  it('shares one check among concurrent probes and reuses it for about a second', async () => {
    const { readiness, queries } = service({ health: async () => ({ ok: true, kind: 'vault' }) });
    const reports = await Promise.all(Array.from({ length: 50 }, () => readiness.check()));
    expect(reports.every((r) => r.status === 'ok')).toBe(true);
    expect(queries()).toBe(1);
    await readiness.check();
    expect(queries()).toBe(1);
    await readiness.check(Date.now() + 1_500);
    expect(queries()).toBe(2);
  });

  it('says which dependency is down, in its own words only', async () => {
    const upstream = 'permission denied: token hvs.CAESIsecret-ish expired at 10.0.0.7';
    const { readiness } = service({
      health: async () => ({ ok: false, kind: 'vault', reason: 'denied', detail: upstream }),
    });
    const report = await readiness.check();
    expect(report.status).toBe('unavailable');
    expect(report.checks.secret_store).toMatchObject({ ok: false, reason: 'denied' });
    expect(JSON.stringify(report)).not.toContain('hvs.');
    expect(JSON.stringify(report)).not.toContain('10.0.0.7');
  });
});
