import { randomUUID } from 'node:crypto';
import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { type Queue } from 'bullmq';
import { type DataSource, type EntityManager } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { presentConnection } from '../database/connection-view';
import { type ConnectionEntity } from '../database/entities';
import { type WebhookEventType } from '../database/enums';
import { WebhookEventsRepository } from '../database/repositories/webhook-events.repository';
import { type JobsOf, QUEUES } from '../jobs/queues';

type WebhookJob = JobsOf<typeof QUEUES.webhooks>;

/** What a write inside {@link WebhookOutbox.write} gets: its transaction, and a way to raise events. */
export interface OutboxTransaction {
  manager: EntityManager;
  /** Inserts the event in this transaction; enqueued for delivery once it commits. */
  emit(
    type: WebhookEventType,
    connection: ConnectionEntity,
    extra?: Record<string, unknown>,
  ): Promise<void>;
}

/** A fast-path enqueue that Redis does not answer is abandoned: the relay picks the event up. */
const ENQUEUE_TIMEOUT_MS = 2_000;

/**
 * The transactional outbox of webhooks (SPEC §14). A change that raises an event runs inside
 * {@link write}: the change and the event's row commit together, so no event is raised for a
 * change that rolled back and none is lost for one that committed. After the commit the event is
 * enqueued at once (the fast path); should that fail, or the process die first, the worker's
 * relay (webhook-relay.ts) enqueues it. The job id is the event id, so both paths enqueue once.
 *
 * With webhooks off (no WEBHOOK_URL) nothing is recorded and a write runs without a transaction,
 * as it did before events existed.
 */
@Injectable()
export class WebhookOutbox {
  private readonly logger = new Logger(WebhookOutbox.name);
  private readonly enabled: boolean;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly events: WebhookEventsRepository,
    @InjectQueue(QUEUES.webhooks)
    private readonly queue: Queue<WebhookJob['payload'], unknown, WebhookJob['name']>,
  ) {
    this.enabled = config.webhooks.enabled;
  }

  async write<T>(work: (tx: OutboxTransaction) => Promise<T>): Promise<T> {
    if (!this.enabled) {
      return work({ manager: this.dataSource.manager, emit: async () => undefined });
    }
    const ids: string[] = [];
    const result = await this.dataSource.transaction(async (manager) =>
      work({
        manager,
        emit: async (type, connection, extra) => {
          const id = randomUUID();
          await this.events.insert(manager, {
            id,
            type,
            connectionId: connection.id,
            // The API's shape of the connection, never the row: no vault path, no secret.
            payload: { connection: presentConnection(connection), ...extra },
          });
          ids.push(id);
        },
      }),
    );
    for (const id of ids) await this.enqueue(id);
    return result;
  }

  /** Best effort; the relay covers a miss. Also used by the relay itself. */
  async enqueue(eventId: string): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('webhook enqueue timed out')), ENQUEUE_TIMEOUT_MS);
    });
    try {
      await Promise.race([
        this.queue.add('webhook.deliver', { eventId }, { jobId: eventId }),
        timeout,
      ]);
      return true;
    } catch (err) {
      this.logger.warn({ err, event_id: eventId }, 'webhook not enqueued; the relay will');
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}
