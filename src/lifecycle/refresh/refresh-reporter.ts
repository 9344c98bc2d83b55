import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { AuditService } from '../../audit/audit.service';
import { type BatchPolicy, type BatchedAuditWriter } from '../../audit/batched-audit-writer';
import { type ConnectionEntity } from '../../database/entities';
import { type ProviderFailure } from '../../providers/provider';
import { LifecycleMetrics, type RefreshOutcomeLabel } from '../lifecycle-metrics';
import { type RefreshRequest } from './refresh-outcome';

/** The batched writer of successful refreshes' audit rows (lifecycle-core.module.ts). */
export const REFRESH_AUDIT = Symbol('REFRESH_AUDIT');

/**
 * Successes in batches (one multi-row INSERT per 100 rows or every 200 ms) instead of one
 * transaction each: at fleet scale the per-row `save` held a pool connection for three round
 * trips per refresh. Nothing is dropped: the buffer drains at INSERT speed, and a success was
 * just written to Postgres, which therefore answers.
 */
export const REFRESH_AUDIT_POLICY: BatchPolicy = {
  what: 'refresh audit',
  flushAt: 100,
  flushEveryMs: 200,
};

/** One attempt's report, started when the attempt decides to call the provider. */
export interface AttemptReport {
  /** Metrics and the log line, once per attempt. */
  finish(outcome: RefreshOutcomeLabel, reason: string): void;
}

/**
 * What a refresh tells the world — metrics, the log line and the audit row — kept apart from
 * the refresh transaction itself (RefreshService), so the transaction reads as what it does.
 */
@Injectable()
export class RefreshReporter {
  private readonly logger = new Logger('RefreshService');

  constructor(
    private readonly metrics: LifecycleMetrics,
    private readonly audit: AuditService,
    /** Batches success audits; without it (unit tests) each goes through AuditService. */
    @Optional() @Inject(REFRESH_AUDIT) private readonly auditLog?: BatchedAuditWriter,
  ) {}

  start(row: ConnectionEntity, request: RefreshRequest): AttemptReport {
    const started = process.hrtime.bigint();
    return {
      finish: (outcome, reason) => {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        this.metrics.refreshes.inc({
          provider: row.provider,
          outcome,
          reason,
          trigger: request.trigger,
        });
        this.metrics.refreshDuration.observe({ provider: row.provider, outcome }, seconds);
        const line = {
          connection_id: row.id,
          provider: row.provider,
          trigger: request.trigger,
          outcome,
          reason,
          duration_ms: Math.round(seconds * 1000),
        };
        // A success is the common case, counted by the metrics and audited: its line is debug,
        // so a fleet of refreshes does not cost a serialised, written log line each (bench/).
        if (outcome === 'success') this.logger.debug(line, 'token refresh');
        else this.logger.warn(line, 'token refresh');
      },
    };
  }

  lockWaited(result: 'settled' | 'retried', seconds: number): void {
    this.metrics.lockWait.observe({ result: result === 'settled' ? 'fresh' : 'retried' }, seconds);
  }

  unexpectedDriverError(row: ConnectionEntity, err: unknown): void {
    this.logger.error({ err, connection_id: row.id }, 'provider driver threw a non-provider error');
  }

  lockReleaseFailed(connectionId: string, err: unknown): void {
    this.logger.warn({ err, connection_id: connectionId }, 'refresh lock release failed');
  }

  succeeded(row: ConnectionEntity, request: RefreshRequest, version: number): void {
    const audit = {
      ...(request.actor ?? { actorType: 'system' as const, actorId: 'refresh' }),
      action: 'connection.refresh',
      outcome: 'success' as const,
      connectionId: row.id,
      provider: row.provider,
      requestId: request.requestId,
      details: { trigger: request.trigger, version },
    };
    if (this.auditLog) this.auditLog.record(audit);
    else void this.audit.record(audit);
  }

  async failed(
    row: ConnectionEntity,
    request: RefreshRequest,
    kind: ProviderFailure,
    reason: string,
  ): Promise<void> {
    await this.audit.record({
      ...(request.actor ?? { actorType: 'system', actorId: 'refresh' }),
      action: 'connection.refresh',
      outcome: 'failure',
      connectionId: row.id,
      provider: row.provider,
      errorCode: kind === 'permanent' ? 'needs_reauth' : 'provider_unavailable',
      requestId: request.requestId,
      details: { trigger: request.trigger, reason, failures: row.refreshFailures + 1 },
    });
  }
}
