import { BrokerError } from '../common/error-codes';
import { type RedisService } from '../redis/redis.module';
import { type Clock, SYSTEM_CLOCK } from '../common/clock';

const WINDOW_MS = 60_000;
/** How long an address found under the limit is believed without asking Redis again. */
export const ALLOWED_FOR_MS = 1_000;
/** More distinct addresses than this in one second, and the memory of them starts over. */
const MAX_ALLOWED_SOURCES = 10_000;

/**
 * Failed authentication, limited per client address and minute in Redis, so every replica
 * counts together (SPEC §6, AUTH_FAILURE_LIMIT_PER_MINUTE). An address over the limit is refused
 * with 429 before its credentials are looked at: an anonymous flood then costs neither the
 * password hasher, nor the API key lookup, nor the audit table. Successes are not counted.
 * A Redis outage fails open (the limit is a shield, not a gate).
 *
 * The check was a Redis GET on every authenticated request, the hot token read included. An
 * address found under the limit is now believed for {@link ALLOWED_FOR_MS} without asking again,
 * unless this process sees it fail meanwhile (then the next check asks Redis). So one replica
 * counts its own failures exactly, and another replica's flood reaches it at most that much late.
 */
export class AuthFailureLimiter {
  /** Addresses found under the limit, and until when that answer holds (bounded: see below). */
  private readonly allowedUntil = new Map<string, number>();

  constructor(
    private readonly redis: Pick<RedisService, 'client'>,
    private readonly limitPerMinute: number,
    private readonly clock: Pick<Clock, 'now'> = SYSTEM_CLOCK,
  ) {}

  /** Throws 429 `rate_limited` (with Retry-After) when `source` failed too often this minute. */
  async assertAllowed(source: string): Promise<void> {
    const now = this.clock.now();
    if ((this.allowedUntil.get(source) ?? 0) > now) return;
    const { key, retryAfterSeconds } = this.window(source, now);
    const count = Number((await this.redis.client.get(key).catch(() => null)) ?? 0);
    if (count >= this.limitPerMinute) {
      throw new BrokerError('rate_limited', 'Too many failed authentications; try again later', {
        headers: { 'retry-after': String(retryAfterSeconds) },
      });
    }
    if (this.allowedUntil.size >= MAX_ALLOWED_SOURCES) this.allowedUntil.clear();
    this.allowedUntil.set(source, now + ALLOWED_FOR_MS);
  }

  /** Counts one failure of `source`. */
  async recordFailure(source: string): Promise<void> {
    this.allowedUntil.delete(source);
    const { key } = this.window(source, this.clock.now());
    await this.redis.client
      .multi()
      .incr(key)
      .pexpire(key, WINDOW_MS * 2)
      .exec()
      .catch(() => undefined);
  }

  private window(source: string, now: number): { key: string; retryAfterSeconds: number } {
    const minute = Math.floor(now / WINDOW_MS);
    return {
      // The client adds the broker's key prefix.
      key: `auth-failures:${minute}:${source}`,
      retryAfterSeconds: Math.max(1, Math.ceil(((minute + 1) * WINDOW_MS - now) / 1000)),
    };
  }
}
