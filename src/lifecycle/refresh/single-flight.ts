import { type HeldLock, type RedisLock } from '../redis-lock';

/**
 * The single-flight protocol of a refresh (SPEC §6): per connection, at most one upstream call
 * at a time across every process. Two layers, each with the one job its name says:
 *
 * - {@link InProcessFlights.share}: callers in this process share one flight when it covers
 *   them (a forced flight covers everyone; a due-only flight covers only due-only callers);
 * - {@link holdLockOrWaitForHolder}: processes share a Redis lock with an owner token; the holder
 *   runs the attempt, the others wait for it to let go and then ask whether what it stored
 *   already answers them, before trying to take the lock themselves.
 */
export class InProcessFlights<T> {
  private readonly flights = new Map<string, { force: boolean; promise: Promise<T> }>();

  async share(key: string, force: boolean, start: () => Promise<T>): Promise<T> {
    for (;;) {
      const flight = this.flights.get(key);
      if (flight === undefined) break;
      if (flight.force || !force) return flight.promise;
      // A due-only flight does not answer a forced request: wait for it to land, then fly.
      await flight.promise.catch(() => undefined);
    }
    const flight = { force, promise: start() };
    this.flights.set(key, flight);
    try {
      return await flight.promise;
    } finally {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    }
  }
}

export interface LockedAttempt<T> {
  /** The lock key, e.g. `lock:refresh:<connection id>`. */
  key: string;
  ttlMs: number;
  /** How long to wait for another holder before trying to take the lock again. */
  waitMs: number;
  /**
   * Taken before each try for the lock (a provider-call slot): waiting for it then never eats
   * into a held lock's TTL. Given back while waiting for another holder; `attempt` may give it
   * back early (after its provider call).
   */
  slot?: () => Promise<() => void>;
  /** Runs while this process holds the lock (and the slot, when there is one). */
  attempt(lock: HeldLock, releaseSlot: () => void): Promise<T>;
  /** After another holder let go: its result when that answers the request, else undefined. */
  settledByHolder(): Promise<T | undefined>;
  /** Reports each wait for another holder (metrics). */
  onWaited?(result: 'settled' | 'retried', seconds: number): void;
  /** Reports a release that failed (the lock then lapses by its TTL). */
  onReleaseFailed?(err: unknown): void;
}

export async function holdLockOrWaitForHolder<T>(
  locks: RedisLock,
  spec: LockedAttempt<T>,
  now: () => number = Date.now,
): Promise<T> {
  const started = now();
  for (;;) {
    const releaseSlot = spec.slot ? await spec.slot() : () => undefined;
    let lock: HeldLock | null;
    try {
      lock = await locks.acquire(spec.key, spec.ttlMs);
    } catch (err) {
      releaseSlot();
      throw err;
    }
    if (lock) {
      try {
        return await spec.attempt(lock, releaseSlot);
      } finally {
        releaseSlot();
        await lock.release().catch((err: unknown) => spec.onReleaseFailed?.(err));
      }
    }
    releaseSlot();
    await locks.waitUntilFree(spec.key, now() + spec.waitMs);
    const settled = await spec.settledByHolder();
    const waited = (now() - started) / 1000;
    spec.onWaited?.(settled !== undefined ? 'settled' : 'retried', waited);
    if (settled !== undefined) return settled;
  }
}
