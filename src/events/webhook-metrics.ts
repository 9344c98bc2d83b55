import { Injectable } from '@nestjs/common';
import { Counter, Histogram } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service';

export type WebhookOutcome = 'delivered' | 'failed' | 'given_up';

/** The worker's webhook metrics, on the process registry (its /metrics). */
@Injectable()
export class WebhookMetrics {
  readonly deliveries: Counter<'type' | 'outcome'>;
  readonly duration: Histogram<'type' | 'outcome'>;

  constructor(metrics: MetricsService) {
    const registers = [metrics.registry];
    this.deliveries = new Counter({
      name: 'cbk_webhook_deliveries_total',
      help: 'Webhook delivery attempts by event type and outcome (delivered, failed: will retry, given_up: the last attempt failed)',
      labelNames: ['type', 'outcome'] as const,
      registers,
    });
    this.duration = new Histogram({
      name: 'cbk_webhook_delivery_seconds',
      help: 'Duration of one webhook delivery attempt, by event type and outcome',
      labelNames: ['type', 'outcome'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
  }
}
