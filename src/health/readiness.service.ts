import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { responseSchema } from '../openapi/contract';
import { RedisService } from '../redis/redis.module';
import { SECRET_STORE, type SecretStore } from '../secrets/secret-store';
import { checkSecretStore } from '../secrets/secrets.module';
import { Clock, SYSTEM_CLOCK } from '../common/clock';

const check = z.object({ ok: z.boolean(), detail: z.string().optional() });

/** GET /health/ready: which dependency answers. */
export const readinessReport = responseSchema(
  'Readiness',
  z.object({
    status: z.enum(['ok', 'unavailable']),
    checks: z.object({
      postgres: check,
      redis: check,
      secret_store: check.extend({ kind: z.string(), reason: z.string().optional() }),
    }),
  }),
);

export type ReadinessReport = z.output<typeof readinessReport>;

/** GET /health/live. */
export const liveness = responseSchema('Liveness', z.object({ status: z.literal('ok') }));

const CHECK_TIMEOUT_MS = 3000;

function within<T>(promise: Promise<T>, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), CHECK_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A report is reused this long: a probe flood costs one check a second, not one per request. */
const CACHE_MS = 1_000;

/**
 * Postgres, Redis and the secret store, checked in parallel with a timeout each. Never throws.
 * One check at a time (callers while it runs share it), its answer cached about a second. The
 * report says which dependency is down in the broker's own words (`query failed`, a secret store
 * reason such as `sealed`), never an upstream error text.
 */
@Injectable()
export class ReadinessService {
  private cached: { report: ReadinessReport; at: number } | undefined;
  private running: Promise<ReadinessReport> | undefined;

  constructor(
    private readonly dataSource: DataSource,
    private readonly redis: RedisService,
    @Inject(SECRET_STORE) private readonly secrets: SecretStore,
    private readonly clock: Clock = SYSTEM_CLOCK,
  ) {}

  check(now = this.clock.now()): Promise<ReadinessReport> {
    if (this.cached && now - this.cached.at < CACHE_MS) return Promise.resolve(this.cached.report);
    this.running ??= this.checkNow()
      .then((report) => {
        this.cached = { report, at: this.clock.now() };
        return report;
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async checkNow(): Promise<ReadinessReport> {
    const [postgres, redis, store] = await Promise.all([
      within(
        this.dataSource
          .query('SELECT 1')
          .then(() => ({ ok: true }))
          .catch(() => ({ ok: false, detail: 'query failed' })),
        { ok: false, detail: 'timed out' },
      ),
      within(
        this.redis.ping().then((ok) => (ok ? { ok } : { ok, detail: 'ping failed' })),
        { ok: false, detail: 'timed out' },
      ),
      checkSecretStore(this.secrets, CHECK_TIMEOUT_MS).then((h) =>
        h.ok
          ? { ok: true, kind: h.kind }
          : { ok: false, kind: h.kind, reason: h.reason, detail: 'not ready' },
      ),
    ]);
    const ok = postgres.ok && redis.ok && store.ok;
    return { status: ok ? 'ok' : 'unavailable', checks: { postgres, redis, secret_store: store } };
  }
}
