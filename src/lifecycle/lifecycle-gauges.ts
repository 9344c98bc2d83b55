import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import { type Queue } from 'bullmq';
import { Gauge } from 'prom-client';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { CONNECTION_STATUSES } from '../database/enums';
import { RefreshStateRepository } from '../database/repositories/refresh-state.repository';
import { QUEUES, type QueueName } from '../jobs/queues';
import { MetricsService } from '../metrics/metrics.service';
import { Clock } from '../common/clock';

const JOB_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed'] as const;

/**
 * Gauges of shared state, computed when Prometheus scrapes (prom-client `collect`), so every api
 * and worker replica exports the same true values — the scheduler's leader used to be the only
 * one setting them, and every other process exported 0. One aggregate query over `connections`
 * and one `getJobCounts` per queue per scrape; a failing dependency leaves the last values.
 */
@Injectable()
export class LifecycleGauges {
  private readonly logger = new Logger(LifecycleGauges.name);

  constructor(
    metrics: MetricsService,
    @Inject(APP_CONFIG) config: AppConfig,
    connections: RefreshStateRepository,
    @InjectQueue(QUEUES.setup) setup: Queue,
    @InjectQueue(QUEUES.refresh) refresh: Queue,
    @InjectQueue(QUEUES.webhooks) webhooks: Queue,
    clock: Clock,
  ) {
    const registers = [metrics.registry];
    const windowMs = config.lifecycle.refreshWindowSeconds * 1000;
    const queues: Record<QueueName, Queue> = { setup, refresh, webhooks };
    const dueBacklog = new Gauge({
      name: 'broker_token_refresh_due_backlog',
      help: 'Connections due for refresh now (active or failing, inside the window, backoff over)',
      registers,
      collect: () => snapshot(),
    });
    const soonestExpiry = new Gauge({
      name: 'broker_token_soonest_expiry_seconds',
      help: 'Seconds until the soonest access token of an active or failing connection expires (negative: already expired)',
      registers,
      collect: () => snapshot(),
    });
    const byStatus = new Gauge({
      name: 'broker_connections',
      help: 'Connections by status',
      labelNames: ['status'] as const,
      registers,
      collect: () => snapshot(),
    });
    // One snapshot serves the three gauges of one scrape.
    let pending: Promise<void> | null = null;
    const snapshot = (): Promise<void> => {
      pending ??= (async () => {
        const now = clock.now();
        try {
          const s = await connections.gaugeSnapshot(new Date(now + windowMs), new Date(now));
          dueBacklog.set(s.due);
          if (s.soonest) soonestExpiry.set((s.soonest.getTime() - now) / 1000);
          else soonestExpiry.reset();
          for (const status of CONNECTION_STATUSES)
            byStatus.set({ status }, s.byStatus[status] ?? 0);
        } catch (err) {
          this.logger.warn({ err }, 'connection gauges not updated');
        }
      })().finally(() => setTimeout(() => (pending = null), 0));
      return pending;
    };

    const logger = this.logger;
    new Gauge({
      name: 'broker_queue_jobs',
      help: 'BullMQ jobs by queue and state (waiting, active, delayed, prioritized, failed)',
      labelNames: ['queue', 'state'] as const,
      registers,
      async collect() {
        for (const [name, queue] of Object.entries(queues)) {
          try {
            const counts = await queue.getJobCounts(...JOB_STATES);
            for (const state of JOB_STATES) this.set({ queue: name, state }, counts[state] ?? 0);
          } catch (err) {
            logger.warn({ err, queue: name }, 'queue gauges not updated');
          }
        }
      },
    });
  }
}
