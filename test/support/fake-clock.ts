/**
 * A clock a test moves by hand. It has the shape of the code's clocks, `{ now(): number;
 * sleep(ms): Promise<void> }` (the setup steps' `SetupClock`), so it is passed where they are
 * injected; `date()` serves the services that take a `() => Date`.
 *
 * `sleep(ms)` waits until the test `advance`s the clock past its deadline. With `autoAdvance`,
 * a sleep instead moves the clock by `ms` itself and resolves at once: code that backs off or
 * polls runs through without real waiting, and `now()` still sees the time pass.
 */
export class FakeClock {
  /** Every `ms` passed to `sleep`, in order. */
  readonly sleeps: number[] = [];
  #now: number;
  readonly #autoAdvance: boolean;
  #sleepers: { until: number; wake: () => void }[] = [];

  constructor(options: { start?: number | Date; autoAdvance?: boolean } = {}) {
    const start = options.start ?? 0;
    this.#now = typeof start === 'number' ? start : start.getTime();
    this.#autoAdvance = options.autoAdvance ?? false;
  }

  now(): number {
    return this.#now;
  }

  date(): Date {
    return new Date(this.#now);
  }

  sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    if (this.#autoAdvance) {
      this.advance(ms);
      return Promise.resolve();
    }
    return new Promise((wake) => {
      this.#sleepers.push({ until: this.#now + Math.max(0, ms), wake });
      this.advance(0); // a sleep of 0 (or less) resolves at once
    });
  }

  /** Moves the clock forward by `ms` and wakes every sleep whose deadline has come. */
  advance(ms: number): void {
    if (ms < 0) throw new Error(`a clock does not go back (advance by ${ms})`);
    this.#now += ms;
    const due = this.#sleepers.filter((s) => s.until <= this.#now);
    this.#sleepers = this.#sleepers.filter((s) => s.until > this.#now);
    for (const sleeper of due) sleeper.wake();
  }

  /** How many sleeps are waiting for the clock to move. */
  get pendingSleeps(): number {
    return this.#sleepers.length;
  }
}
