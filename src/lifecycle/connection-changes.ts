import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { type Redis } from 'ioredis';
import { RedisService } from '../redis/redis.module';
import { type HeldLock } from './redis-lock';

/**
 * Tells every process that a connection row changed (refreshed, reconnected, revoked), over Redis
 * pub/sub, so per-process caches of rows drop it at once. Every code path that changes a row's
 * status, expiry or secret reference publishes here after its Postgres write.
 */
@Injectable()
export class ConnectionChanges implements OnApplicationShutdown {
  private readonly logger = new Logger(ConnectionChanges.name);
  private subscriber?: Redis;

  constructor(private readonly redis: RedisService) {}

  get channel(): string {
    return this.redis.key('connection-changes');
  }

  /**
   * Best effort: a lost message is covered by the caches' short TTL. A writer that holds the
   * connection's lock and is done with it passes it as `releasing`: the lock is then released in
   * the same Redis round trip (a refresh saves one of its round trips so).
   */
  async publish(connectionId: string, releasing?: HeldLock): Promise<void> {
    try {
      if (releasing) await releasing.releaseAndPublish(this.channel, connectionId);
      else await this.redis.client.publish(this.channel, connectionId);
    } catch (err) {
      this.logger.warn({ err, connection_id: connectionId }, 'connection change not published');
    }
  }

  /**
   * Calls `listener(id)` for each change, and `listener(null)` ("forget everything") whenever the
   * subscription (re)connects, since messages sent while it was down are lost.
   */
  async subscribe(listener: (connectionId: string | null) => void): Promise<void> {
    const sub = this.redis.client.duplicate({ keyPrefix: '' });
    this.subscriber = sub;
    sub.on('error', () => undefined);
    sub.on('ready', () => listener(null));
    sub.on('message', (_channel: string, id: string) => listener(id));
    await sub.subscribe(this.channel);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }
}
