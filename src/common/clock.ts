import { Injectable } from '@nestjs/common';

/** Time for setup steps (deadlines, backoff), injectable so a unit test need not wait. */
@Injectable()
export class SetupClock {
  now(): number {
    return Date.now();
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}

/** Exponential backoff with full jitter in its upper half: base·2^attempt, capped. */
export function backoffMs(baseMs: number, attempt: number, capMs: number): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}
