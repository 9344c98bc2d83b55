import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import { type Job, type Queue, Worker } from 'bullmq';
import { AuditService } from '../audit/audit.service';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { WebhookEventsRepository } from '../database/repositories/webhook-events.repository';
import { type JobsOf, type PayloadOf, QUEUES } from '../jobs/queues';
import { webhookBody, webhookMessageId } from './webhook-events';
import { WebhookMetrics } from './webhook-metrics';
import { WebhookSender } from './webhook-sender';

type WebhookJobName = JobsOf<typeof QUEUES.webhooks>['name'];

const CONCURRENCY = 4;

/** A failed attempt: BullMQ retries the job after its exponential backoff (queues.ts). */
class DeliveryFailed extends Error {}

/**
 * Delivers the `webhooks` queue's jobs, in the worker. One job per event (its id is the event
 * id), one POST per attempt, the same `webhook-id` on every one. The outbox row is the record:
 * `delivered_at` on a 2xx, `attempts` and `last_error` after each failure, `given_up_at` after
 * the last attempt (with an error log and an audit row). A row already delivered or given up is
 * not sent again — a job re-run after a stalled worker included.
 */
@Injectable()
export class WebhookProcessor implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WebhookProcessor.name);
  private worker: Worker | undefined;
  private readonly handlers: {
    [N in WebhookJobName]: (payload: PayloadOf<N>, job: Job) => Promise<void>;
  } = {
    'webhook.deliver': (payload, job) => this.deliver(payload, job),
  };

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectQueue(QUEUES.webhooks) private readonly queue: Queue,
    private readonly events: WebhookEventsRepository,
    private readonly sender: WebhookSender,
    private readonly metrics: WebhookMetrics,
    private readonly audit: AuditService,
  ) {}

  onApplicationBootstrap(): void {
    // Off without WEBHOOK_URL: jobs (there are none, the outbox records nothing) would wait.
    if (!this.config.webhooks.enabled) return;
    this.worker = new Worker(QUEUES.webhooks, (job: Job) => this.handle(job), {
      connection: this.queue.opts.connection,
      prefix: this.queue.opts.prefix,
      concurrency: CONCURRENCY,
    });
    this.worker.on('error', (err) => this.logger.error({ err }, 'webhook worker error'));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.worker?.close();
  }

  private async handle(job: Job): Promise<void> {
    const name = job.name as WebhookJobName;
    const handler = this.handlers[name];
    if (handler === undefined) throw new Error(`no handler for webhook job ${job.name}`);
    await handler(job.data as PayloadOf<typeof name>, job);
  }

  private async deliver(payload: PayloadOf<'webhook.deliver'>, job: Job): Promise<void> {
    const event = await this.events.findById(payload.eventId);
    if (!event || event.deliveredAt || event.givenUpAt) return;
    const attempt = job.attemptsMade + 1;
    const lastAttempt = attempt >= (job.opts.attempts ?? 1);
    const messageId = webhookMessageId(event.id);
    const started = process.hrtime.bigint();
    const result = await this.sender.send(messageId, webhookBody(event));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const line = { event_id: event.id, webhook_id: messageId, type: event.type, attempt };

    if (result.ok) {
      await this.events.markDelivered(event.id, attempt);
      this.observe(event.type, 'delivered', seconds);
      this.logger.log({ ...line, status: result.status }, 'webhook delivered');
      return;
    }
    if (!lastAttempt) {
      await this.events.markFailed(event.id, attempt, result.reason);
      this.observe(event.type, 'failed', seconds);
      this.logger.warn({ ...line, reason: result.reason }, 'webhook delivery failed; will retry');
      throw new DeliveryFailed(result.reason);
    }
    await this.events.markGivenUp(event.id, attempt, result.reason);
    this.observe(event.type, 'given_up', seconds);
    this.logger.error(
      { ...line, reason: result.reason },
      'webhook given up after the last attempt',
    );
    await this.audit.record({
      actorType: 'system',
      actorId: 'webhooks',
      action: 'webhook.given_up',
      outcome: 'failure',
      connectionId: event.connectionId,
      errorCode: result.reason,
      details: { event_id: event.id, type: event.type, attempts: attempt },
    });
    throw new DeliveryFailed(result.reason);
  }

  private observe(type: string, outcome: 'delivered' | 'failed' | 'given_up', seconds: number) {
    this.metrics.deliveries.inc({ type, outcome });
    this.metrics.duration.observe({ type, outcome }, seconds);
  }
}
