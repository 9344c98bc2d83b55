import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../config/config';
import { RedisService } from '../../redis/redis.module';

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const EXTEND = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

export interface HeldLock {
  release(): Promise<void>;
}

/**
 * One setup at a time per connection, across every worker: two jobs for one connection (a
 * reconnect and a retry) would otherwise race on the same run row. The TTL matches the BullMQ job
 * lock and is renewed while held, so a killed worker's lock lapses by the time its job is taken over.
 */
@Injectable()
export class SetupLock {
  constructor(
    private readonly redis: RedisService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async acquire(connectionId: string): Promise<HeldLock | null> {
    const key = `setup-lock:${connectionId}`;
    const owner = randomBytes(16).toString('hex');
    const ttl = this.config.setupJobs.lockMs;
    const ok = await this.redis.client.set(key, owner, 'PX', ttl, 'NX');
    if (ok !== 'OK') return null;
    const timer = setInterval(
      () => {
        this.redis.client.eval(EXTEND, 1, key, owner, String(ttl)).catch(() => undefined);
      },
      Math.max(250, Math.floor(ttl / 3)),
    );
    timer.unref();
    return {
      release: async () => {
        clearInterval(timer);
        await this.redis.client.eval(RELEASE, 1, key, owner).catch(() => undefined);
      },
    };
  }
}
