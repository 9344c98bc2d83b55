/**
 * Exponential backoff with "equal jitter": the nominal delay is base·2^attempt, capped, and the
 * pause is somewhere in [nominal/2, nominal], so callers that failed together do not come back
 * together, yet never sooner than half the nominal delay.
 */
export function backoffMs(
  baseMs: number,
  attempt: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  const nominal = Math.min(capMs, baseMs * 2 ** Math.min(Math.max(0, attempt), 30));
  const half = nominal / 2;
  return Math.round(half + random() * half);
}
