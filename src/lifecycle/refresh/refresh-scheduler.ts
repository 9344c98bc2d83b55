import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  Optional,
} from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import { SchedulerRegistry } from '@nestjs/schedule';
import { type Queue } from 'bullmq';
import { APP_CONFIG, type AppConfig } from '../../config/config';
import {
  RefreshStateRepository,
  type DueConnection,
  type DueCursor,
} from '../../database/repositories/refresh-state.repository';
import { QUEUES, REFRESH_JOB_OPTIONS, type PayloadOf, refreshJobId } from '../../jobs/queues';
import { LifecycleMetrics } from '../lifecycle-metrics';
import { type HeldLock, LockService, newOwnerToken } from '../redis-lock';
import { scheduleJitterMs } from './refresh-timing';
import { Clock, SYSTEM_CLOCK } from '../../common/clock';

export const DUE_PAGE_SIZE = 500;
const LEADER_KEY = 'lock:refresh-scheduler';
const INTERVAL_NAME = 'refresh-scheduler';

export interface TickResult {
  leader: boolean;
  due: number;
  pages: number;
}

/** What the tick needs of the queue: adding many jobs at once. */
export type RefreshQueue = Pick<Queue, 'addBulk'>;

/**
 * The thin refresh tick (SPEC §6, STYLE practice 7): every REFRESH_INTERVAL_SECONDS it pages the
 * due connections by the indexed query and enqueues one refresh job each, with an id that
 * dedupes (`refresh:<id>:<expires_at>`). No provider I/O. One effective runner across worker
 * replicas: a leader lease in Redis with an owner token, renewed every tick and given back at
 * shutdown, so another replica takes over within two intervals when the leader dies.
 */
@Injectable()
export class RefreshScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RefreshScheduler.name);
  private readonly owner = newOwnerToken();
  private readonly intervalMs: number;
  private readonly windowSeconds: number;
  private lease: HeldLock | null = null;
  private running: Promise<TickResult> | null = null;
  /**
   * The jobs this replica enqueued, by connection: the `expires_at` the job's id names and when.
   * A row still waiting for its job is not re-added. Keyed by connection rather than job id, a
   * tick builds no id for the rows it skips (it reads every due row, every interval).
   */
  private readonly enqueued = new Map<string, { expiresAt: number; at: number }>();
  private readonly reEnqueueAfterMs: number;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly connections: RefreshStateRepository,
    @InjectQueue(QUEUES.refresh) private readonly queue: RefreshQueue,
    private readonly locks: LockService,
    private readonly metrics: LifecycleMetrics,
    private readonly registry: SchedulerRegistry,
    @Optional() private readonly clock: Clock = SYSTEM_CLOCK,
  ) {
    this.intervalMs = config.lifecycle.refreshIntervalSeconds * 1000;
    this.windowSeconds = config.lifecycle.refreshWindowSeconds;
    this.reEnqueueAfterMs = Math.max(60_000, this.intervalMs * 2);
  }

  onApplicationBootstrap(): void {
    const handle = setInterval(() => void this.tickSafely(), this.intervalMs);
    this.registry.addInterval(INTERVAL_NAME, handle);
    void this.tickSafely();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.registry.doesExist('interval', INTERVAL_NAME)) {
      this.registry.deleteInterval(INTERVAL_NAME);
    }
    await this.running?.catch(() => undefined);
    await this.lease?.release().catch(() => false);
  }

  private async tickSafely(): Promise<void> {
    try {
      await this.tick();
    } catch (err) {
      this.logger.error({ err }, 'refresh scheduler tick failed');
    }
  }

  /** One tick; a tick still running when the next is due is not doubled. */
  tick(now: number = this.clock.now()): Promise<TickResult> {
    if (this.running) return this.running;
    this.running = this.run(now).finally(() => (this.running = null));
    return this.running;
  }

  /**
   * True when this replica already enqueued the job for the row as it stands and that job cannot
   * have finished with the row unchanged: its id names the row's `expires_at` (a success changes
   * it) and it was enqueued after the row's backoff ended (a failure moves `next_attempt_at` past
   * it). Re-adding it would be deduplicated by BullMQ anyway, but at one Redis script per row per
   * tick, which at fleet scale starved the refreshes themselves (bench/, refresh fleet). After
   * `reEnqueueAfterMs` the row is enqueued again regardless (a job lost with Redis, or failed on
   * an infrastructure error); rows whose backoff is unknown are always enqueued.
   */
  private waiting(row: DueConnection, now: number): boolean {
    if (row.nextAttemptAt === undefined) return false;
    const job = this.enqueued.get(row.id);
    return (
      job !== undefined &&
      job.expiresAt === row.expiresAt.getTime() &&
      job.at >= row.nextAttemptAt.getTime() &&
      now - job.at < this.reEnqueueAfterMs
    );
  }

  private async run(now: number): Promise<TickResult> {
    this.lease = await this.locks.acquireOrExtend(
      LEADER_KEY,
      this.intervalMs * 2 + 1000,
      this.owner,
    );
    if (!this.lease) return { leader: false, due: 0, pages: 0 };

    const expiresBefore = new Date(now + this.windowSeconds * 1000);
    let after: DueCursor | undefined;
    let due = 0;
    let pages = 0;
    for (;;) {
      const page = await this.connections.findDue({
        expiresBefore,
        now: new Date(now),
        after,
        limit: DUE_PAGE_SIZE,
      });
      if (page.length === 0) break;
      pages++;
      due += page.length;
      const fresh = page.filter((row) => !this.waiting(row, now));
      if (fresh.length > 0) {
        await this.queue.addBulk(
          fresh.map((row) => ({
            name: 'connection.refresh' as const,
            data: { connectionId: row.id } satisfies PayloadOf<'connection.refresh'>,
            opts: {
              ...REFRESH_JOB_OPTIONS,
              jobId: refreshJobId(row.id, row.expiresAt),
              delay: scheduleJitterMs(row.expiresAt, this.windowSeconds, now),
            },
          })),
        );
        for (const row of fresh) {
          this.enqueued.set(row.id, { expiresAt: row.expiresAt.getTime(), at: now });
        }
        this.metrics.jobsEnqueued.inc(fresh.length);
      }
      const last = page[page.length - 1];
      if (page.length < DUE_PAGE_SIZE || !last) break;
      after = last;
    }
    for (const [id, job] of this.enqueued) {
      if (now - job.at >= this.reEnqueueAfterMs) this.enqueued.delete(id);
    }
    // The backlog and expiry gauges are computed at scrape time (LifecycleGauges), on every process.
    if (due > 0) this.logger.log({ due, pages }, 'refresh jobs enqueued');
    return { leader: true, due, pages };
  }
}
