import { Injectable } from '@nestjs/common';
import { BrokerError } from '../common/error-codes';
import { RedisService } from '../redis/redis.module';

/** Manual refreshes allowed per connection per window, whoever asks and on whichever replica. */
export const MANUAL_REFRESH_LIMIT = 5;
export const MANUAL_REFRESH_WINDOW_SECONDS = 60;

/** INCR, and start the window's clock on the first hit; returns the count and the ms left. */
const HIT = `local n = redis.call('incr', KEYS[1])
if n == 1 then redis.call('pexpire', KEYS[1], ARGV[1]) end
return {n, redis.call('pttl', KEYS[1])}`;

/**
 * A fixed-window limit on manual refreshes per connection (POST /connections/:id/refresh and
 * POST /tailscale/refresh-token share it), counted in Redis so it holds across api replicas.
 * Each manual refresh may call the provider, so this is what bounds a caller's upstream traffic.
 */
@Injectable()
export class RefreshRateLimit {
  constructor(private readonly redis: RedisService) {}

  async hit(connectionId: string): Promise<void> {
    const windowMs = MANUAL_REFRESH_WINDOW_SECONDS * 1000;
    const [count, ttl] = (await this.redis.client.eval(
      HIT,
      1,
      `ratelimit:refresh:${connectionId}`,
      String(windowMs),
    )) as [number, number];
    if (count > MANUAL_REFRESH_LIMIT) {
      const retryAfter = Math.max(1, Math.ceil((ttl > 0 ? ttl : windowMs) / 1000));
      throw new BrokerError(
        'rate_limited',
        `At most ${MANUAL_REFRESH_LIMIT} manual refreshes per connection every ${MANUAL_REFRESH_WINDOW_SECONDS} s`,
        { headers: { 'retry-after': String(retryAfter) } },
      );
    }
  }
}
