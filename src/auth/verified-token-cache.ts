import { hash } from 'node:crypto';
import { type Clock, SYSTEM_CLOCK } from '../common/clock';

/**
 * Users of JWTs that passed verification, so a caller presenting the same token on every request
 * is verified once, not per request (HS256/RS256 verification through WebCrypto was a fifth of the
 * token read's CPU). Safe by construction:
 * - only a token that verified is ever put in (a failure is never cached, so it is re-checked);
 * - an entry is used strictly before the token's `exp` (no clock tolerance here: a token inside
 *   the tolerance goes back through full verification) and for at most `maxAgeMs` after it was
 *   verified, which bounds how long a token keeps working after its signing key is withdrawn;
 * - keyed by the token's SHA-256, so the token itself is not kept in memory;
 * - bounded: least recently used entries go first once `maxEntries` is reached.
 */
export class VerifiedTokenCache<T> {
  private readonly entries = new Map<string, { value: T; usableUntil: number }>();

  constructor(
    private readonly maxEntries = 10_000,
    private readonly maxAgeMs = 60_000,
    private readonly clock: Pick<Clock, 'now'> = SYSTEM_CLOCK,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  static keyOf(token: string): string {
    // The one-shot form: no Hash object per call (this runs on every bearer-token request).
    return hash('sha256', token, 'base64url');
  }

  get(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    if (this.clock.now() >= entry.usableUntil) return undefined;
    this.entries.set(key, entry); // most recently used last
    return entry.value;
  }

  /** `expSeconds`: the verified token's `exp` claim (seconds since the epoch). */
  set(key: string, value: T, expSeconds: number): void {
    const usableUntil = Math.min(expSeconds * 1000, this.clock.now() + this.maxAgeMs);
    if (!(usableUntil > this.clock.now())) return;
    this.entries.delete(key);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, usableUntil });
  }
}
