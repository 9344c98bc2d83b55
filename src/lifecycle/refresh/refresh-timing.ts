import { backoffMs } from '../../common/backoff';

/** The timing rules of the token lifecycle (SPEC §6), as pure functions of `now` and randomness. */

export const BACKOFF_BASE_SECONDS = 30;
export const BACKOFF_CAP_SECONDS = 3600;

/** A token this close to its expiry is no longer handed out, even during a provider outage. */
export const MIN_SERVE_SECONDS = 5;

/**
 * The pause after the `failures`-th consecutive transient failure: 30 s doubling, capped at 1 h,
 * with equal jitter (common/backoff), so connections that failed together (a provider outage) do
 * not come back together.
 */
export function failureBackoffMs(failures: number, random: () => number = Math.random): number {
  const n = Math.max(1, Math.floor(failures));
  return backoffMs(BACKOFF_BASE_SECONDS * 1000, n - 1, BACKOFF_CAP_SECONDS * 1000, random);
}

/** True when the token expires within the refresh window (or has no known expiry). */
export function isInWindow(expiresAt: Date | null, windowSeconds: number, now: number): boolean {
  return expiresAt === null || expiresAt.getTime() < now + windowSeconds * 1000;
}

/** True when the token may still be handed to a caller. */
export function isServable(expiresAt: Date | null, now: number): boolean {
  return expiresAt !== null && expiresAt.getTime() > now + MIN_SERVE_SECONDS * 1000;
}

/**
 * The delay before a scheduled refresh runs. A fleet connected at once expires at once; tokens
 * that still have more than half the window left are spread over that slack (uniformly), so the
 * provider sees a trickle instead of a wave. A token in the second half of its window (or
 * expired) is refreshed at once.
 */
export function scheduleJitterMs(
  expiresAt: Date,
  windowSeconds: number,
  now: number,
  random: () => number = Math.random,
): number {
  const slack = expiresAt.getTime() - now - (windowSeconds * 1000) / 2;
  return slack > 0 ? Math.floor(random() * slack) : 0;
}
