import { Global, Injectable, Module } from '@nestjs/common';

/**
 * The time every timing rule reads (expiry windows, backoff, deadlines, TTLs), injectable so a
 * test controls it instead of waiting. `SYSTEM_CLOCK` is the default where one is not injected.
 */
@Injectable()
export class Clock {
  now(): number {
    return Date.now();
  }

  date(): Date {
    return new Date(this.now());
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}

export const SYSTEM_CLOCK = new Clock();

/** One Clock for the whole process (imported by the entry modules). */
@Global()
@Module({ providers: [{ provide: Clock, useValue: SYSTEM_CLOCK }], exports: [Clock] })
export class ClockModule {}
