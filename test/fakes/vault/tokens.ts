import { randomBytes } from 'node:crypto';

/** A token of the fake Vault. TTLs are real: an expired token is refused like a revoked one. */
export interface FakeToken {
  id: string;
  policies: string[];
  /** Seconds granted at creation and by each renewal; 0 = never expires (root). */
  ttl: number;
  /** Seconds after creation past which no renewal extends the token; 0 = no cap. */
  maxTtl: number;
  renewable: boolean;
  createdAt: number;
  expiresAt: number; // ms epoch; Infinity when ttl is 0
}

export interface TokenOptions {
  ttl?: number;
  maxTtl?: number;
  renewable?: boolean;
  policies?: string[];
}

export class TokenTable {
  private readonly tokens = new Map<string, FakeToken>();

  create(
    options: TokenOptions = {},
    id = `hvs.${randomBytes(18).toString('base64url')}`,
  ): FakeToken {
    const now = Date.now();
    const ttl = options.ttl ?? 0;
    const token: FakeToken = {
      id,
      policies: options.policies ?? ['default'],
      ttl,
      maxTtl: options.maxTtl ?? 0,
      renewable: options.renewable ?? ttl > 0,
      createdAt: now,
      expiresAt: ttl > 0 ? now + ttl * 1000 : Infinity,
    };
    this.tokens.set(id, token);
    return token;
  }

  /** The live token with this id, or undefined (unknown, revoked or expired). */
  valid(id: string | undefined): FakeToken | undefined {
    if (id === undefined) return undefined;
    const token = this.tokens.get(id);
    if (!token) return undefined;
    if (Date.now() >= token.expiresAt) {
      this.tokens.delete(id);
      return undefined;
    }
    return token;
  }

  revoke(id: string): void {
    this.tokens.delete(id);
  }

  /** Seconds left, rounded down like Vault's `ttl` field. */
  remaining(token: FakeToken): number {
    return token.expiresAt === Infinity
      ? 0
      : Math.max(0, Math.floor((token.expiresAt - Date.now()) / 1000));
  }

  /** Extends by the token's TTL, capped at max TTL; returns the seconds granted. */
  renew(token: FakeToken): number {
    const now = Date.now();
    let expiresAt = now + token.ttl * 1000;
    if (token.maxTtl > 0) expiresAt = Math.min(expiresAt, token.createdAt + token.maxTtl * 1000);
    token.expiresAt = expiresAt;
    return Math.max(0, Math.floor((expiresAt - now) / 1000)); // truncated, as Vault does
  }

  live(): FakeToken[] {
    return [...this.tokens.keys()].map((id) => this.valid(id)).filter((t): t is FakeToken => !!t);
  }
}
