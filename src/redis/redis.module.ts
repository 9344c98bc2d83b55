import { Global, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../config/config';

/** The broker's own Redis client (locks, rate limits). BullMQ makes its own connections. */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  readonly client: Redis;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.client = new Redis(config.redis.url, {
      keyPrefix: `${config.redis.prefix}:`,
      maxRetriesPerRequest: 2,
      enableOfflineQueue: true,
      connectTimeout: 5000,
      lazyConnect: false,
      enableAutoPipelining: true,
    });
    // Errors surface through commands and /health/ready; without a listener ioredis would log them raw.
    this.client.on('error', () => undefined);
  }

  /** A key under the broker's prefix, for libraries that take full keys. */
  key(...parts: string[]): string {
    return `${this.config.redis.prefix}:${parts.join(':')}`;
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.client.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

@Global()
@Module({ providers: [RedisService], exports: [RedisService] })
export class RedisModule {}
