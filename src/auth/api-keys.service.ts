import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { type Repository } from 'typeorm';
import { type Clock, SYSTEM_CLOCK } from '../common/clock';
import { BrokerError } from '../common/error-codes';
import { type ApiKeyEntity } from '../database/entities/api-key.entity';
import { API_KEY_SCOPES, type ApiKeyScope } from '../database/enums';
import { type Caller } from './caller';
import { API_KEY_MARKER } from './authorization-header';

/** `cbk_` + 32 random bytes in base64url (43 characters). */
const API_KEY_PATTERN = /^cbk_[A-Za-z0-9_-]{43}$/;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PREFIX_LENGTH = API_KEY_MARKER.length + 8;
/** `last_used_at` is a hint for operators, not a log: one write per key per minute is plenty. */
const LAST_USED_RESOLUTION_MS = 60_000;
const MAX_NAME_LENGTH = 200;

/** What may be shown about a key: never its hash, never the key. */
export interface ApiKeyView {
  id: string;
  name: string;
  prefix: string;
  scopes: ApiKeyScope[];
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export type RevokeResult =
  | { outcome: 'revoked' | 'already_revoked'; key: ApiKeyView }
  | { outcome: 'not_found' }
  | { outcome: 'ambiguous' };

export function isApiKeyScope(value: string): value is ApiKeyScope {
  return (API_KEY_SCOPES as readonly string[]).includes(value);
}

export function isWellFormedApiKey(key: string): boolean {
  return API_KEY_PATTERN.test(key);
}

/** The display prefix of a key (`cbk_` + 8 characters), safe to log and show. */
export function apiKeyPrefix(key: string): string {
  return key.slice(0, PREFIX_LENGTH);
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function apiKeyCaller(key: ApiKeyEntity, onBehalfOf?: string): Caller {
  return {
    kind: 'api_key',
    keyId: key.id,
    keyName: key.name,
    scopes: [...key.scopes],
    ...(onBehalfOf !== undefined ? { onBehalfOf } : {}),
  };
}

/** The columns a view needs: never `keyHash`. */
const VIEW_SELECT = {
  id: true,
  name: true,
  prefix: true,
  scopes: true,
  createdAt: true,
  lastUsedAt: true,
  revokedAt: true,
} as const satisfies Partial<Record<keyof ApiKeyView & keyof ApiKeyEntity, true>>;

function toView(row: ApiKeyEntity): ApiKeyView {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes,
    createdAt: row.createdAt,
    lastUsedAt: row.lastUsedAt,
    revokedAt: row.revokedAt,
  };
}

/**
 * Service API keys. A plain class over the repository, so the CLI uses it without booting Nest.
 * Keys are 256-bit random, so a fast hash (SHA-256) is enough and keeps each request cheap; the
 * lookup goes through the unique index on the hash, never a comparison against each stored key.
 */
export class ApiKeysService {
  constructor(
    private readonly keys: Repository<ApiKeyEntity>,
    private readonly clock: Pick<Clock, 'date'> = SYSTEM_CLOCK,
  ) {}

  /** Returns the key in plain text: the only time it exists outside the caller's hands. */
  async create(
    name: string,
    scopes: readonly string[],
  ): Promise<{ key: string; apiKey: ApiKeyView }> {
    const trimmed = name.trim();
    if (trimmed.length === 0 || trimmed.length > MAX_NAME_LENGTH) {
      throw new BrokerError('validation_failed', `name must be 1-${MAX_NAME_LENGTH} characters`);
    }
    const unknown = scopes.filter((s) => !isApiKeyScope(s));
    if (unknown.length > 0 || scopes.length === 0) {
      throw new BrokerError(
        'validation_failed',
        `scopes must be one or more of ${API_KEY_SCOPES.join(', ')}`,
      );
    }
    const unique = API_KEY_SCOPES.filter((s) => scopes.includes(s));
    const key = `${API_KEY_MARKER}${randomBytes(32).toString('base64url')}`;
    const row = await this.keys.save(
      this.keys.create({
        name: trimmed,
        prefix: apiKeyPrefix(key),
        keyHash: hashApiKey(key),
        scopes: unique,
        lastUsedAt: null,
        revokedAt: null,
      }),
    );
    return { key, apiKey: toView(row) };
  }

  async list(): Promise<ApiKeyView[]> {
    const rows = await this.keys.find({
      select: VIEW_SELECT,
      order: { createdAt: 'ASC', id: 'ASC' },
    });
    return rows.map(toView);
  }

  /** By id, or by display prefix when that names exactly one key. Revoking twice is harmless. */
  async revoke(idOrPrefix: string): Promise<RevokeResult> {
    const where = UUID_PATTERN.test(idOrPrefix) ? { id: idOrPrefix } : { prefix: idOrPrefix };
    const matches = await this.keys.find({ select: VIEW_SELECT, where, take: 2 });
    if (matches.length === 0) return { outcome: 'not_found' };
    if (matches.length > 1) return { outcome: 'ambiguous' };
    const row = matches[0];
    if (row.revokedAt !== null) return { outcome: 'already_revoked', key: toView(row) };
    row.revokedAt = this.clock.date();
    await this.keys.update({ id: row.id }, { revokedAt: row.revokedAt });
    return { outcome: 'revoked', key: toView(row) };
  }

  /** The key's row when the key is known and not revoked; otherwise null. */
  async authenticate(key: string): Promise<ApiKeyEntity | null> {
    if (!isWellFormedApiKey(key)) return null;
    const hash = hashApiKey(key);
    const row = await this.keys.findOne({ where: { keyHash: hash } });
    if (row === null) return null;
    // The index found it; compare again in constant time so equality never rests on a
    // short-circuiting string comparison anywhere in the path.
    const stored = Buffer.from(row.keyHash, 'hex');
    const presented = Buffer.from(hash, 'hex');
    if (stored.length !== presented.length || !timingSafeEqual(stored, presented)) return null;
    if (row.revokedAt !== null) return null;
    await this.touch(row);
    return row;
  }

  /**
   * Records use at most once a minute per key. The condition lives in the UPDATE, so several api
   * replicas do not each write for the same minute.
   */
  private async touch(row: ApiKeyEntity): Promise<void> {
    const now = this.clock.date();
    const stale = new Date(now.getTime() - LAST_USED_RESOLUTION_MS);
    if (row.lastUsedAt !== null && row.lastUsedAt > stale) return;
    try {
      await this.keys
        .createQueryBuilder()
        .update()
        .set({ lastUsedAt: now })
        .where('id = :id', { id: row.id })
        .andWhere('(last_used_at IS NULL OR last_used_at <= :stale)', { stale })
        .execute();
      row.lastUsedAt = now;
    } catch {
      // Bookkeeping only: a failed write must not turn a valid key into a failed request.
    }
  }
}
