import { type AuditService } from '../audit/audit.service';
import { type ErrorCode } from '../common/error-codes';
import { apiKeyPrefix, isWellFormedApiKey } from './api-keys.service';

export interface AuthFailure {
  /** How the caller tried: `api_key`, `jwt` or `basic`. */
  method: 'api_key' | 'jwt' | 'basic';
  errorCode: ErrorCode;
  /** The display prefix of a presented API key (`cbk_` + 8 chars); never the key. */
  keyPrefix?: string;
  reason: string;
}

/**
 * Audits failed authentications of note without holding up the response: the write runs in the
 * background and a failure to write is swallowed (AuditService logs it).
 */
export class AuthFailureAudit {
  constructor(private readonly audit: Pick<AuditService, 'record'>) {}

  record(failure: AuthFailure): void {
    const details: Record<string, unknown> = { method: failure.method, reason: failure.reason };
    if (failure.keyPrefix !== undefined) details.key_prefix = failure.keyPrefix;
    void this.audit
      .record({
        actorType: 'system',
        action: 'auth.failed',
        outcome: 'failure',
        errorCode: failure.errorCode,
        details,
      })
      .catch(() => undefined);
  }

  /** An unknown or revoked API key: recorded by its display prefix when it has one, never whole. */
  recordRejectedApiKey(key: string): void {
    this.record({
      method: 'api_key',
      errorCode: 'unauthenticated',
      reason: 'unknown or revoked API key',
      ...(isWellFormedApiKey(key) ? { keyPrefix: apiKeyPrefix(key) } : {}),
    });
  }
}
