import { randomUUID } from 'node:crypto';
import { Injectable, Optional } from '@nestjs/common';
import { type Redis } from 'ioredis';
import { Clock, SYSTEM_CLOCK } from '../common/clock';
import { RedisService } from '../redis/redis.module';

/** Deletes the key only while it still holds our owner token (a lock that expired is not ours). */
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * RELEASE, then PUBLISH of ARGV[3] on ARGV[2] whether or not the lock was still ours: a holder
 * that wrote something announces it and lets go in one round trip.
 */
const RELEASE_AND_PUBLISH = `local released = 0
if redis.call('get', KEYS[1]) == ARGV[1] then released = redis.call('del', KEYS[1]) end
redis.call('publish', ARGV[2], ARGV[3])
return released`;

/** Extends the key's TTL only while it still holds our owner token. */
const EXTEND = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

/** A lock this process holds, identified by a random owner token. */
export interface HeldLock {
  readonly key: string;
  readonly token: string;
  /**
   * Compare-and-delete: true when the lock was still ours and is now free. Once a release has
   * gone through, a further one answers the same without a round trip.
   */
  release(): Promise<boolean>;
  /**
   * `release()` and `PUBLISH channel message` in one script (the message is published even when
   * the lock was no longer ours). Rejects, and leaves the lock to a later `release()`, when Redis
   * does not answer.
   */
  releaseAndPublish(channel: string, message: string): Promise<boolean>;
  /** Compare-and-pexpire: true when the lock was still ours and now lives `ttlMs` more. */
  extend(ttlMs: number): Promise<boolean>;
  /**
   * `extend(ttlMs)`, but only when fewer than `minRemainingMs` of the lock's life may be left:
   * otherwise true at once, without a Redis round trip. The remaining life is a lower bound kept
   * by this process on the monotonic clock, counted from before the command that set the TTL was
   * sent, so Redis's key always outlives it.
   */
  ensure(minRemainingMs: number, ttlMs: number): Promise<boolean>;
}

/**
 * Redis locks with an owner token: `SET key token NX PX ttl` to take, a Lua compare-and-delete
 * to give back. The TTL bounds how long a crashed holder blocks others; a holder that outlives
 * its TTL cannot release or extend someone else's lock.
 */
export class RedisLock {
  constructor(
    private readonly redis: Redis,
    /** The wait for another holder's deadline and its pauses (the TTLs are Redis's own). */
    private readonly clock: Pick<Clock, 'now' | 'sleep'> = SYSTEM_CLOCK,
  ) {}

  async acquire(key: string, ttlMs: number, token = newOwnerToken()): Promise<HeldLock | null> {
    const sentAt = performance.now();
    const ok = await this.redis.set(key, token, 'PX', ttlMs, 'NX');
    return ok === 'OK' ? this.held(key, token, sentAt + ttlMs) : null;
  }

  /**
   * Takes the lock and renews it every third of its TTL until released, for work of unknown
   * length: a holder that dies stops renewing, so its lock lapses within `ttlMs`.
   */
  async acquireRenewed(key: string, ttlMs: number): Promise<HeldLock | null> {
    const lock = await this.acquire(key, ttlMs);
    if (!lock) return null;
    const timer = setInterval(
      () => {
        lock.extend(ttlMs).catch(() => false);
      },
      Math.max(250, Math.floor(ttlMs / 3)),
    );
    timer.unref();
    return {
      ...lock,
      release: () => {
        clearInterval(timer);
        return lock.release();
      },
      releaseAndPublish: (channel, message) => {
        clearInterval(timer);
        return lock.releaseAndPublish(channel, message);
      },
    };
  }

  /** Takes the lock, or keeps it when `token` already holds it (a leader renewing its lease). */
  async acquireOrExtend(key: string, ttlMs: number, token: string): Promise<HeldLock | null> {
    const held = this.held(key, token);
    if (await held.extend(ttlMs)) return held;
    return this.acquire(key, ttlMs, token);
  }

  async isHeld(key: string): Promise<boolean> {
    return (await this.redis.exists(key)) === 1;
  }

  /**
   * Waits until nobody holds `key` or `deadline` (epoch ms) passes, polling with a growing pause
   * (10 ms up to 100 ms). True when the key was seen free.
   */
  async waitUntilFree(key: string, deadline: number): Promise<boolean> {
    let pause = 10;
    while (this.clock.now() < deadline) {
      if (!(await this.isHeld(key))) return true;
      await this.clock.sleep(Math.min(pause, deadline - this.clock.now()));
      pause = Math.min(pause * 2, 100);
    }
    return !(await this.isHeld(key));
  }

  /**
   * `lowerBoundExpiry`: performance.now() before which the key surely still exists (0: unknown).
   * The monotonic clock, not the injected one: it stands for how long Redis keeps the key.
   */
  private held(key: string, token: string, lowerBoundExpiry = 0): HeldLock {
    const redis = this.redis;
    let expiresNoEarlierThan = lowerBoundExpiry;
    const extend = async (ttlMs: number): Promise<boolean> => {
      const sentAt = performance.now();
      const ok = (await redis.eval(EXTEND, 1, key, token, String(ttlMs))) === 1;
      expiresNoEarlierThan = ok ? sentAt + ttlMs : 0;
      return ok;
    };
    let released: boolean | undefined;
    const releaseWith = async (script: string, ...args: string[]): Promise<boolean> => {
      if (released !== undefined) return released;
      expiresNoEarlierThan = 0;
      released = (await redis.eval(script, 1, key, token, ...args)) === 1;
      return released;
    };
    return {
      key,
      token,
      release: () => releaseWith(RELEASE),
      releaseAndPublish: (channel, message) => releaseWith(RELEASE_AND_PUBLISH, channel, message),
      extend,
      ensure: (minRemainingMs: number, ttlMs: number) =>
        expiresNoEarlierThan - performance.now() >= minRemainingMs
          ? Promise.resolve(true)
          : extend(ttlMs),
    };
  }
}

/**
 * 32 hex digits (122 random bits): a UUID v4 without its dashes. `randomUUID` draws from a
 * buffer of entropy it refills in bulk, where `randomBytes(16)` asked the CSPRNG once per lock,
 * a cost that showed in the worker's profile at one lock per refresh (bench/, refresh fleet).
 */
export function newOwnerToken(): string {
  return randomUUID().replaceAll('-', '');
}

/** The broker's lock service, on its own Redis client (keys under the configured prefix). */
@Injectable()
export class LockService extends RedisLock {
  constructor(redis: RedisService, @Optional() clock: Clock = SYSTEM_CLOCK) {
    super(redis.client, clock);
  }
}
