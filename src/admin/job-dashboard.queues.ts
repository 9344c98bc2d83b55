import { Injectable } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import { type Queue } from 'bullmq';
import { QUEUES, type QueueName } from '../jobs/queues';

/**
 * Every queue of the broker, for the dashboard: the very queues JobsModule registered (one handle
 * per queue per process). A Record over the queue names, so a new queue fails to compile here
 * until the dashboard shows it.
 */
@Injectable()
export class JobDashboardQueues {
  readonly queues: Queue[];

  constructor(
    @InjectQueue(QUEUES.setup) setup: Queue,
    @InjectQueue(QUEUES.refresh) refresh: Queue,
    @InjectQueue(QUEUES.webhooks) webhooks: Queue,
  ) {
    const byName: Record<QueueName, Queue> = { setup, refresh, webhooks };
    this.queues = Object.values(byName);
    // Connection errors surface on the dashboard's own requests; unhandled they would crash the api.
    for (const queue of this.queues) queue.on('error', () => undefined);
  }
}
