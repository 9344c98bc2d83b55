import { DEFAULT_TOKEN_FIELDS } from '../providers/provider';
import { type SecretRef, SecretValue } from '../secrets/secret-store';

export const TOKEN_CACHE_ENTRIES = 5_000;

/**
 * What a token read presents (the driver's `tokenFields`); refresh tokens, client secrets and
 * keys are never kept here. The cache is this process's memory only: nothing goes to Redis.
 */
function servedPart(value: SecretValue, fields: readonly string[]): SecretValue {
  const data = value.reveal();
  const kept: Record<string, string> = {};
  for (const field of fields) if (data[field] !== undefined) kept[field] = data[field];
  return new SecretValue(value.ref, kept);
}

/**
 * Secret versions read for token responses, in memory, least recently used first out. A KV
 * version never changes once written and connection paths are never reused, so an entry keyed
 * by (path, version) is never stale: Postgres says which version is current, the cache only
 * saves the round trip to the secret store. Values stay wrapped in `SecretValue` (which prints
 * no secret) and the cache itself has no way to list them.
 */
export class TokenCache {
  private readonly entries = new Map<string, SecretValue>();

  constructor(private readonly capacity = TOKEN_CACHE_ENTRIES) {}

  get(ref: SecretRef): SecretValue | undefined {
    const key = cacheKey(ref);
    const value = this.entries.get(key);
    if (value !== undefined) {
      // Map keeps insertion order: re-inserting makes this the most recently used entry.
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  /**
   * Keeps only `fields`, those a token read of the connection serves (a heap dump holds no
   * refresh token): the default answer's unless the connection's driver names others.
   */
  set(value: SecretValue, fields: readonly string[] = DEFAULT_TOKEN_FIELDS): void {
    const key = cacheKey(value.ref);
    this.entries.delete(key);
    this.entries.set(key, servedPart(value, fields));
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }

  /** Drops every version of a path older than `keepVersion` (after a refresh replaced it). */
  dropOlder(path: string, keepVersion: number): void {
    for (let v = keepVersion - 1; v >= Math.max(1, keepVersion - 3); v--) {
      this.entries.delete(cacheKey({ path, version: v }));
    }
  }

  get size(): number {
    return this.entries.size;
  }

  toJSON(): { size: number } {
    return { size: this.entries.size };
  }
}

function cacheKey(ref: SecretRef): string {
  return `${ref.version}@${ref.path}`;
}
