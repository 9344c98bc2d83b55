import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import { type Job, type Queue, Worker } from 'bullmq';
import { BrokerError } from '../../common/error-codes';
import { APP_CONFIG, type AppConfig } from '../../config/config';
import { type JobsOf, type PayloadOf, QUEUES } from '../../jobs/queues';
import { RefreshService } from './refresh.service';

type RefreshJobName = JobsOf<typeof QUEUES.refresh>['name'];

/**
 * Jobs in flight per provider-call slot (see RefreshService's upstream semaphore): one in the
 * slot, one writing its result, others ready to take a slot the moment it frees. More only held
 * more jobs' state live across collections: 8 cost 3-6 % more CPU per refresh than 3 or 4, for
 * the same fleet time (alternated bench runs, 2026-12-02; docs/lifecycle.md).
 */
const JOBS_PER_UPSTREAM_SLOT = 4;

/**
 * Runs refresh jobs, REFRESH_CONCURRENCY at a time per worker. A job makes one attempt: the
 * refresh service records failures on the connection (status, backoff) and the next tick
 * enqueues again when `next_attempt_at` comes, so the job itself completes either way. Only
 * infrastructure errors (Postgres, Redis, the secret store) fail the job.
 */
@Injectable()
export class RefreshProcessor implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RefreshProcessor.name);
  private worker: Worker | undefined;
  private readonly handlers: {
    [N in RefreshJobName]: (payload: PayloadOf<N>) => Promise<void>;
  } = {
    'connection.refresh': (payload) => this.refresh(payload),
  };

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectQueue(QUEUES.refresh) private readonly queue: Queue,
    private readonly refresher: RefreshService,
  ) {}

  onApplicationBootstrap(): void {
    this.worker = new Worker(QUEUES.refresh, (job: Job) => this.handle(job), {
      connection: this.queue.opts.connection,
      prefix: this.queue.opts.prefix,
      // More jobs than provider calls: RefreshService lets REFRESH_CONCURRENCY of them call the
      // provider at once, and the others do their local I/O meanwhile.
      concurrency: this.config.lifecycle.refreshConcurrency * JOBS_PER_UPSTREAM_SLOT,
    });
    this.worker.on('error', (err) => this.logger.error({ err }, 'refresh worker error'));
    this.worker.on('failed', (job, err) =>
      this.logger.error({ err, job_id: job?.id }, 'refresh job failed'),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.worker?.close();
  }

  private async handle(job: Job): Promise<void> {
    const name = job.name as RefreshJobName;
    const handler = this.handlers[name];
    if (handler === undefined) throw new Error(`no handler for refresh job ${job.name}`);
    await handler(job.data as PayloadOf<typeof name>);
  }

  private async refresh(payload: PayloadOf<'connection.refresh'>): Promise<void> {
    try {
      // Every outcome (a failure included) is recorded on the connection and logged by the
      // refresh service: the job is done whatever it is.
      await this.refresher.refresh(payload.connectionId, { trigger: 'scheduled', force: false });
    } catch (err) {
      // A provider this broker no longer has enabled: nothing to refresh with.
      if (err instanceof BrokerError && err.code === 'provider_disabled') return;
      throw err;
    }
  }
}
