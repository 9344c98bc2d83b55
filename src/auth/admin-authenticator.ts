import { createHash, timingSafeEqual } from 'node:crypto';
import argon2 from 'argon2';
import bcrypt from 'bcryptjs';
import { type Caller } from './caller';
import { type ApiKeysService, apiKeyCaller } from './api-keys.service';
import { type AuthFailureAudit } from './auth-failure-audit';
import { parseAuthorization } from './authorization-header';
import { BrokerError } from '../common/error-codes';
import { Semaphore } from '../common/semaphore';

/** Password hash checks run at once, and waiting beyond them (SPEC §6: floods cost little). */
const MAX_CONCURRENT_PASSWORD_CHECKS = 2;
const MAX_QUEUED_PASSWORD_CHECKS = 16;

export interface AdminCredentials {
  user: string;
  /** An argon2 (`$argon2id$…`) or bcrypt (`$2a$`/`$2b$`/`$2y$`) hash. */
  passwordHash: string;
}

export interface AdminAuthenticatorOptions {
  /** How long a successful Basic verification is remembered; the hashes are slow on purpose. */
  cacheTtlMs?: number;
  now?: () => number;
  /** The slow hash check; replaceable so a test can count calls. */
  verifyPassword?: (hash: string, password: string) => Promise<boolean>;
}

const MAX_CACHE_ENTRIES = 100;

/** The challenge that makes a browser ask for the admin's user and password. */
export const ADMIN_BASIC_CHALLENGE = 'Basic realm="credential-broker admin", charset="UTF-8"';

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Checks a password against an argon2 or bcrypt hash; false for any other or malformed hash. */
export async function verifyAdminPassword(hash: string, password: string): Promise<boolean> {
  try {
    if (hash.startsWith('$argon2')) return await argon2.verify(hash, password);
    if (/^\$2[aby]\$/.test(hash)) return await bcrypt.compare(password, hash);
    return false;
  } catch {
    return false;
  }
}

/**
 * Admin authentication, shared by the Nest guard (`@AdminOnly()` routes) and the raw Fastify hook
 * in front of the Bull Board dashboard, which Nest's guards do not see.
 */
export class AdminAuthenticator {
  /** sha256(Authorization header) → expiry (ms). Only successes are cached; never the header. */
  private readonly verified = new Map<string, number>();
  private readonly cacheTtlMs: number;
  private readonly now: () => number;
  private readonly verifyPassword: (hash: string, password: string) => Promise<boolean>;
  private readonly passwordChecks = new Semaphore(MAX_CONCURRENT_PASSWORD_CHECKS);
  private queuedPasswordChecks = 0;

  constructor(
    private readonly admin: AdminCredentials | undefined,
    private readonly apiKeys: ApiKeysService,
    private readonly failures: AuthFailureAudit,
    options: AdminAuthenticatorOptions = {},
  ) {
    this.cacheTtlMs = options.cacheTtlMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.verifyPassword = options.verifyPassword ?? verifyAdminPassword;
  }

  /** The Basic credentials (base64 part of the header) checked against ADMIN_USER/_PASSWORD_HASH. */
  async verifyBasic(encoded: string, source?: string): Promise<Caller | null> {
    const admin = this.admin;
    if (admin === undefined) {
      this.failures.record(
        { method: 'basic', errorCode: 'unauthenticated', reason: 'basic auth not configured' },
        source,
      );
      return null;
    }
    const cacheKey = sha256(`Basic ${encoded}`).toString('hex');
    const expiry = this.verified.get(cacheKey);
    if (expiry !== undefined) {
      if (expiry > this.now()) return { kind: 'admin_basic', user: admin.user };
      this.verified.delete(cacheKey);
    }
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) {
      this.failures.record(
        { method: 'basic', errorCode: 'unauthenticated', reason: 'malformed basic credentials' },
        source,
      );
      return null;
    }
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    // Both checks always run, so the time taken does not say whether the user name was right.
    const userMatches = timingSafeEqual(sha256(user), sha256(admin.user));
    const passwordMatches = await this.boundedPasswordCheck(admin.passwordHash, password);
    if (!userMatches || !passwordMatches) {
      this.failures.record(
        { method: 'basic', errorCode: 'unauthenticated', reason: 'bad admin credentials' },
        source,
      );
      return null;
    }
    this.remember(cacheKey);
    return { kind: 'admin_basic', user: admin.user };
  }

  /**
   * An admin caller from request headers: HTTP Basic admin credentials, or an API key holding the
   * `admin` scope. Null for anything else (the hook answers 401 with {@link ADMIN_BASIC_CHALLENGE}).
   */
  async authenticateAdmin(
    headers: { authorization?: string | string[] },
    source?: string,
  ): Promise<Caller | null> {
    const presented = parseAuthorization(headers.authorization);
    switch (presented?.scheme) {
      case 'basic':
        return this.verifyBasic(presented.encoded, source);
      case 'api_key': {
        const key = await this.apiKeys.authenticate(presented.key);
        if (key === null) {
          this.failures.recordRejectedApiKey(presented.key, source);
          return null;
        }
        return key.scopes.includes('admin') ? apiKeyCaller(key) : null;
      }
      case 'jwt':
      case undefined:
        return null;
    }
  }

  /**
   * A password hash check (argon2/bcrypt: deliberately slow, tens of ms of CPU) with at most
   * {@link MAX_CONCURRENT_PASSWORD_CHECKS} at once and a short queue: beyond it the caller gets
   * 429, so a flood of Basic logins cannot take the process's CPU.
   */
  private async boundedPasswordCheck(hash: string, password: string): Promise<boolean> {
    if (this.queuedPasswordChecks >= MAX_QUEUED_PASSWORD_CHECKS) {
      throw new BrokerError('rate_limited', 'Too many admin logins at once; try again shortly', {
        headers: { 'retry-after': '1' },
      });
    }
    this.queuedPasswordChecks++;
    try {
      return await this.passwordChecks.run(() => this.verifyPassword(hash, password));
    } finally {
      this.queuedPasswordChecks--;
    }
  }

  private remember(cacheKey: string): void {
    if (this.verified.size >= MAX_CACHE_ENTRIES) {
      const oldest = this.verified.keys().next();
      if (oldest.done !== true) this.verified.delete(oldest.value);
    }
    this.verified.set(cacheKey, this.now() + this.cacheTtlMs);
  }
}
