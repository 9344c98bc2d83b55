import { Injectable } from '@nestjs/common';
import { Counter, Histogram } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service';

export type RefreshOutcomeLabel =
  'success' | 'transient_failure' | 'permanent_failure' | 'cas_conflict' | 'error';

export type TokenReadOutcome =
  'served' | 'refreshed' | 'stale_served' | 'needs_reauth' | 'unavailable' | 'error';

/** The lifecycle's Prometheus metrics, on the process registry. Labels never carry an id. */
@Injectable()
export class LifecycleMetrics {
  readonly refreshes: Counter<'provider' | 'outcome' | 'reason' | 'trigger'>;
  readonly refreshDuration: Histogram<'provider' | 'outcome'>;
  readonly lockWait: Histogram<'result'>;
  readonly tokenReads: Counter<'provider' | 'outcome'>;
  readonly jobsEnqueued: Counter;
  readonly auditDropped: Counter;

  constructor(metrics: MetricsService) {
    const registers = [metrics.registry];
    this.refreshes = new Counter({
      name: 'broker_token_refreshes_total',
      help: 'Upstream token refresh attempts by provider, outcome, reason and trigger',
      labelNames: ['provider', 'outcome', 'reason', 'trigger'] as const,
      registers,
    });
    this.refreshDuration = new Histogram({
      name: 'broker_token_refresh_duration_seconds',
      help: 'Duration of a refresh under the lock (provider call, secret store write, Postgres)',
      labelNames: ['provider', 'outcome'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.lockWait = new Histogram({
      name: 'broker_token_refresh_lock_wait_seconds',
      help: 'Time a refresh waited for another holder of the connection lock; result: fresh (the other holder refreshed) or retried',
      labelNames: ['result'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.tokenReads = new Counter({
      name: 'broker_token_reads_total',
      help: 'GET /connections/:id/token by provider and outcome',
      labelNames: ['provider', 'outcome'] as const,
      registers,
    });
    this.jobsEnqueued = new Counter({
      name: 'broker_token_refresh_jobs_enqueued_total',
      help: 'Refresh jobs the scheduler offered to the queue (duplicates of waiting jobs are dropped by id)',
      registers,
    });
    this.auditDropped = new Counter({
      name: 'broker_token_read_audit_dropped_total',
      help: 'Token-read audit rows dropped because the buffer was full or the write failed',
      registers,
    });
  }
}
