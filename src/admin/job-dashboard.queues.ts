import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { getSharedConfigToken } from '@nestjs/bullmq';
import { Queue, type QueueOptions } from 'bullmq';
import { QUEUES } from '../jobs/queues';

/**
 * One read handle on every queue of the broker, for the dashboard. Built from `QUEUES` so a new
 * queue shows up without touching this file.
 */
@Injectable()
export class JobDashboardQueues implements OnApplicationShutdown {
  readonly queues: Queue[];

  constructor(@Inject(getSharedConfigToken()) bull: QueueOptions) {
    this.queues = Object.values(QUEUES).map(
      (name) => new Queue(name, { connection: bull.connection, prefix: bull.prefix }),
    );
    // Connection errors surface on the dashboard's own requests; unhandled they would crash the api.
    for (const queue of this.queues) queue.on('error', () => undefined);
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.close()));
  }
}
