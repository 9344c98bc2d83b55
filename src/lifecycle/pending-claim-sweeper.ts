import {
  Inject,
  Injectable,
  Logger,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { PendingClaimsModule } from './pending-claims.module';
import { PeriodicPass } from './periodic-pass';
import { PendingClaims } from './pending-claims';

const INTERVAL_NAME = 'pending-claim-sweep';
/** SPEC §5: unclaimed grants are swept at least every minute. */
const MAX_SWEEP_EVERY_MS = 60_000;

/**
 * Revokes and destroys unclaimed grants from the worker, every minute (more often when
 * CLAIM_TTL_SECONDS is shorter than that), like the OAuth state janitor. Several workers
 * sweeping at once is harmless: each claim is taken by one of them (SKIP LOCKED).
 */
@Injectable()
export class PendingClaimSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(PendingClaimSweeper.name);
  private readonly intervalMs: number;
  private readonly periodic: PeriodicPass;

  constructor(
    private readonly claims: PendingClaims,
    registry: SchedulerRegistry,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.intervalMs = Math.min(MAX_SWEEP_EVERY_MS, config.lifecycle.claimTtlSeconds * 1000);
    this.periodic = new PeriodicPass(registry, INTERVAL_NAME, () => this.run());
  }

  onApplicationBootstrap(): void {
    this.periodic.start(this.intervalMs);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.periodic.stop();
  }

  /** One sweep; a sweep still running when the next is due is not doubled. */
  sweep(): Promise<number> {
    return this.periodic.run();
  }

  private async run(): Promise<number> {
    try {
      const swept = await this.claims.sweep();
      if (swept > 0) this.logger.log({ swept }, 'revoked and destroyed unclaimed grants');
      return swept;
    } catch (err) {
      this.logger.warn({ err }, 'pending claim sweep failed; will try again');
      return 0;
    }
  }
}

/** The worker's side of pending claims. Needs `ScheduleModule.forRoot` from the worker module. */
@Module({ imports: [PendingClaimsModule], providers: [PendingClaimSweeper] })
export class PendingClaimSweeperModule {}
