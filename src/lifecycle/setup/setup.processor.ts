import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
  Optional,
} from '@nestjs/common';
import { Clock, SYSTEM_CLOCK } from '../../common/clock';
import { getSharedConfigToken } from '@nestjs/bullmq';
import { DelayedError, type Job, type QueueOptions, UnrecoverableError, Worker } from 'bullmq';
import { APP_CONFIG, type AppConfig } from '../../config/config';
import { QUEUES, isSetupJobName } from '../../jobs/queues';
import { LockService } from '../redis-lock';
import { SetupRunner } from './setup-runner';

interface SetupJobData {
  connectionId?: unknown;
}

/**
 * The BullMQ worker of the `setup` queue, one handler per job name (checked at start). Built by
 * hand rather than with `@Processor` because the lock and stalled-job settings come from the
 * validated config: with `SETUP_JOB_LOCK_MS` and `SETUP_JOB_STALLED_INTERVAL_MS`, a job whose
 * worker died is handed to another worker after about their sum, and its run resumes.
 */
@Injectable()
export class SetupProcessor implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SetupProcessor.name);
  private worker?: Worker<SetupJobData>;

  constructor(
    @Inject(getSharedConfigToken()) private readonly bull: QueueOptions,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly runner: SetupRunner,
    private readonly locks: LockService,
    @Optional() private readonly clock: Clock = SYSTEM_CLOCK,
  ) {}

  onModuleInit(): void {
    this.runner.assertHandlers();
  }

  onApplicationBootstrap(): void {
    const jobs = this.config.setupJobs;
    this.worker = new Worker<SetupJobData>(QUEUES.setup, (job, token) => this.process(job, token), {
      connection: this.bull.connection,
      prefix: this.bull.prefix,
      concurrency: jobs.concurrency,
      lockDuration: jobs.lockMs,
      stalledInterval: jobs.stalledIntervalMs,
      maxStalledCount: jobs.maxStalled,
    });
    this.worker.on('error', (err) => this.logger.error({ err }, 'setup worker error'));
    this.worker.on('failed', (job, err) => {
      const connectionId = job?.data.connectionId;
      // Failures the runner reported are already in the run; this catches BullMQ's own verdicts.
      if (typeof connectionId !== 'string' || !/stalled/i.test(err.message)) return;
      this.runner
        .abandon(connectionId, 'worker_lost', 'The job was lost by its workers too many times')
        .catch((e: unknown) =>
          this.logger.error({ err: e, connectionId }, 'could not mark setup lost'),
        );
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.worker?.close();
  }

  async process(job: Job<SetupJobData>, token?: string): Promise<{ status: string }> {
    const connectionId = job.data.connectionId;
    if (!isSetupJobName(job.name) || typeof connectionId !== 'string') {
      throw new UnrecoverableError(`not a setup job: ${job.name}`);
    }
    // One setup at a time per connection, across every worker: two jobs for one connection (a
    // reconnect and a retry) would otherwise race on the same run row. The TTL matches the BullMQ
    // job lock, so a killed worker's lock lapses by the time its job is taken over.
    const held = await this.locks.acquireRenewed(
      `setup-lock:${connectionId}`,
      this.config.setupJobs.lockMs,
    );
    if (!held) {
      // Another worker is advancing this connection's run: come back once it is likely done,
      // without spending an attempt.
      await job.moveToDelayed(this.clock.now() + this.config.setupJobs.lockMs, token);
      throw new DelayedError();
    }
    try {
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      // The dashboard shows the same progress as GET /connections/:id/setup.
      const outcome = await this.runner.run(connectionId, {
        lastAttempt,
        onProgress: (progress) => job.updateProgress(progress),
      });
      switch (outcome.kind) {
        case 'finished':
          return { status: outcome.status };
        case 'skipped':
          return { status: `skipped: ${outcome.reason}` };
        case 'retry':
          // The message is the step's own detail: user-facing, never a secret.
          throw new Error(`${outcome.error.code}: ${outcome.error.detail}`);
        case 'failed':
          throw new UnrecoverableError(`${outcome.error.code}: ${outcome.error.detail}`);
      }
    } finally {
      await held.release().catch(() => false);
    }
  }
}
