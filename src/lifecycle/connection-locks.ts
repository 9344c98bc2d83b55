import { Injectable, Optional } from '@nestjs/common';
import { Clock, SYSTEM_CLOCK } from '../common/clock';
import { BrokerError } from '../common/error-codes';
import { LockService } from './redis-lock';

/** Longer than a disconnect (an upstream revoke with its timeout, then the secret store). */
const LOCK_TTL_MS = 30_000;
const WAIT_MS = 35_000;

/**
 * One writer at a time per connection for the changes that must not interleave: a reconnect
 * and a disconnect (SPEC §6, "disconnect wins"). Without it a reconnect could write a new secret
 * between a disconnect's destroy and its `revoked` update, leaving a revoked row with a live
 * secret. A Redis lock with an owner token (renewed while held), so it spans every replica.
 */
@Injectable()
export class ConnectionLocks {
  constructor(
    private readonly locks: LockService,
    @Optional() private readonly clock: Clock = SYSTEM_CLOCK,
  ) {}

  async exclusive<T>(connectionId: string, work: () => Promise<T>): Promise<T> {
    const key = `lock:connection:${connectionId}`;
    const deadline = this.clock.now() + WAIT_MS;
    for (;;) {
      const lock = await this.locks.acquireRenewed(key, LOCK_TTL_MS);
      if (lock) {
        try {
          return await work();
        } finally {
          await lock.release().catch(() => false);
        }
      }
      if (this.clock.now() >= deadline || !(await this.locks.waitUntilFree(key, deadline))) {
        throw new BrokerError('conflict', 'The connection is being changed; try again');
      }
    }
  }
}
