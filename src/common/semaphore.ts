/**
 * A counting semaphore: at most `size` callers run at once, the rest wait in order. Used to cap
 * the provider calls a process makes, independently of how many jobs it works on.
 */
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new Error('semaphore size must be at least 1');
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /** Waits for a slot; the returned function gives it back (calling it again does nothing). */
  async acquire(): Promise<() => void> {
    if (this.active >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so `active` never drops below the queue.
      if (next) next();
      else this.active--;
    };
  }

  /** Callers running now (for tests and metrics). */
  get running(): number {
    return this.active;
  }
}
