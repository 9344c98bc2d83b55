import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { type Queue } from 'bullmq';
import { type ConnectionEntity } from '../database/entities';
import { type JobsOf, QUEUES, setupJobId, setupJobName } from './queues';

type SetupJob = JobsOf<typeof QUEUES.setup>;

/** Redis down must not hold a browser or an API caller for long: the add is abandoned after this. */
const ENQUEUE_TIMEOUT_MS = 5_000;

/**
 * Enqueues a connection's post-connect setup (its processor lives in the worker). Idempotent per
 * secret (the job id): the same grant never queues setup twice, a reconnect does. The payload is
 * the connection id only. An add abandoned by the timeout may still land later, which the job id
 * makes harmless.
 */
@Injectable()
export class SetupQueue {
  constructor(
    @InjectQueue(QUEUES.setup)
    private readonly queue: Queue<SetupJob['payload'], unknown, SetupJob['name']>,
  ) {}

  async enqueue(connection: ConnectionEntity): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('setup enqueue timed out')), ENQUEUE_TIMEOUT_MS);
    });
    try {
      await Promise.race([
        this.queue.add(
          setupJobName(connection.provider),
          { connectionId: connection.id },
          { jobId: setupJobId(connection) },
        ),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}
