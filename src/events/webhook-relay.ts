import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { WebhookEventsRepository } from '../database/repositories/webhook-events.repository';
import { RedisService } from '../redis/redis.module';
import { WebhookOutbox } from './webhook-outbox';

/** How often the relay looks for events the fast path did not enqueue. */
export const RELAY_INTERVAL_MS = 5_000;
const PAGE = 500;

/**
 * The outbox relay, in the worker: every few seconds it enqueues the events neither delivered
 * nor given up. It covers every way the api's enqueue after commit can miss — the process died
 * between commit and enqueue, Redis was away — so no committed event is lost. Enqueueing an
 * event that is already queued is harmless: the job id is the event id (and finished jobs are
 * kept a week, so a just-delivered event is not sent again). One worker at a time runs a pass,
 * under a Redis lock that lapses before the next tick.
 */
@Injectable()
export class WebhookRelay implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WebhookRelay.name);
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly events: WebhookEventsRepository,
    private readonly outbox: WebhookOutbox,
    private readonly redis: RedisService,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.webhooks.enabled) return;
    this.timer = setInterval(() => void this.tick(), RELAY_INTERVAL_MS);
    void this.tick();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  private async tick(): Promise<void> {
    if (this.running) return;
    this.running = this.pass()
      .catch((err: unknown) => this.logger.warn({ err }, 'webhook relay pass failed'))
      .finally(() => (this.running = null));
    await this.running;
  }

  /** One pass: the oldest pending events, enqueued by id. Returns how many were enqueued. */
  async pass(): Promise<void> {
    const won = await this.redis.client.set(
      'lock:webhook-relay',
      randomUUID(),
      'PX',
      RELAY_INTERVAL_MS - 500,
      'NX',
    );
    if (won !== 'OK') return;
    const ids = await this.events.findPendingIds(PAGE);
    for (const id of ids) await this.outbox.enqueue(id);
  }
}
