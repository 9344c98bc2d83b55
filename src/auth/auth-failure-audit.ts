import { type OnApplicationShutdown } from '@nestjs/common';
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

const MINUTE_MS = 60_000;
/** Distinct (source, kind of failure) pairs kept per minute; a flood beyond is one "other" row. */
const MAX_GROUPS = 10_000;
const OTHER_SOURCE = 'other';

interface Group {
  minute: number;
  source: string;
  failure: AuthFailure;
  count: number;
}

/**
 * Audits failed authentications in aggregate (SPEC §6): one row per source (client address),
 * kind of failure and minute, with a count — so an anonymous flood costs one row a minute, not
 * one per request. Rows are written when their minute is over (and at shutdown), in the
 * background; a failure to write is swallowed (AuditService logs it). Per process: N api
 * replicas write at most N rows for one source and minute.
 */
export class AuthFailureAudit implements OnApplicationShutdown {
  private readonly groups = new Map<string, Group>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly audit: Pick<AuditService, 'record'>,
    private readonly now: () => number = Date.now,
  ) {
    this.timer = setInterval(() => void this.flush(false), 10_000);
    this.timer.unref();
  }

  record(failure: AuthFailure, source = 'unknown'): void {
    const minute = Math.floor(this.now() / MINUTE_MS);
    let key = groupKey(minute, source, failure);
    if (!this.groups.has(key) && this.groups.size >= MAX_GROUPS) {
      source = OTHER_SOURCE;
      key = groupKey(minute, source, failure);
    }
    const group = this.groups.get(key);
    if (group) group.count++;
    else this.groups.set(key, { minute, source, failure, count: 1 });
  }

  /** Writes the groups of minutes that are over (all of them with `everything`). */
  async flush(everything = true): Promise<void> {
    const current = Math.floor(this.now() / MINUTE_MS);
    const due = [...this.groups.entries()].filter(([, g]) => everything || g.minute < current);
    for (const [key] of due) this.groups.delete(key);
    await Promise.all(
      due.map(([, g]) => {
        const details: Record<string, unknown> = {
          method: g.failure.method,
          reason: g.failure.reason,
          source: g.source,
          count: g.count,
          minute: new Date(g.minute * MINUTE_MS).toISOString(),
        };
        if (g.failure.keyPrefix !== undefined) details.key_prefix = g.failure.keyPrefix;
        return this.audit
          .record({
            actorType: 'system',
            action: 'auth.failed',
            outcome: 'failure',
            errorCode: g.failure.errorCode,
            details,
          })
          .catch(() => undefined);
      }),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush(true);
  }

  /** An unknown or revoked API key: recorded by its display prefix when it has one, never whole. */
  recordRejectedApiKey(key: string, source?: string): void {
    this.record(
      {
        method: 'api_key',
        errorCode: 'unauthenticated',
        reason: 'unknown or revoked API key',
        ...(isWellFormedApiKey(key) ? { keyPrefix: apiKeyPrefix(key) } : {}),
      },
      source,
    );
  }
}

function groupKey(minute: number, source: string, f: AuthFailure): string {
  return [minute, source, f.method, f.errorCode, f.reason, f.keyPrefix ?? ''].join('\u0000');
}
