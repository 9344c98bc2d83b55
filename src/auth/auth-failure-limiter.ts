import { BrokerError } from '../common/error-codes';
import { type RedisService } from '../redis/redis.module';

const WINDOW_MS = 60_000;

/**
 * Failed authentication, limited per client address and minute in Redis, so every replica
 * counts together (SPEC §6, AUTH_FAILURE_LIMIT_PER_MINUTE). An address over the limit is refused
 * with 429 before its credentials are looked at: an anonymous flood then costs neither the
 * password hasher, nor the API key lookup, nor the audit table. Successes are not counted.
 * A Redis outage fails open (the limit is a shield, not a gate).
 */
export class AuthFailureLimiter {
  constructor(
    private readonly redis: Pick<RedisService, 'client'>,
    private readonly limitPerMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Throws 429 `rate_limited` (with Retry-After) when `source` failed too often this minute. */
  async assertAllowed(source: string): Promise<void> {
    const { key, retryAfterSeconds } = this.window(source);
    const count = Number((await this.redis.client.get(key).catch(() => null)) ?? 0);
    if (count >= this.limitPerMinute) {
      throw new BrokerError('rate_limited', 'Too many failed authentications; try again later', {
        headers: { 'retry-after': String(retryAfterSeconds) },
      });
    }
  }

  /** Counts one failure of `source`. */
  async recordFailure(source: string): Promise<void> {
    const { key } = this.window(source);
    await this.redis.client
      .multi()
      .incr(key)
      .pexpire(key, WINDOW_MS * 2)
      .exec()
      .catch(() => undefined);
  }

  private window(source: string): { key: string; retryAfterSeconds: number } {
    const now = this.now();
    const minute = Math.floor(now / WINDOW_MS);
    return {
      // The client adds the broker's key prefix.
      key: `auth-failures:${minute}:${source}`,
      retryAfterSeconds: Math.max(1, Math.ceil(((minute + 1) * WINDOW_MS - now) / 1000)),
    };
  }
}
