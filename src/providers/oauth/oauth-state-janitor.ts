import { Injectable, Logger, Module } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { Clock } from '../../common/clock';
import { ConnectionStoreModule } from '../../lifecycle/connection-store.module';
import { OAuthStatesRepository } from '../../database/repositories/oauth-states.repository';

/** States are useless once expired; they are kept an hour more for support questions. */
const KEEP_EXPIRED_MS = 3_600_000;
const SWEEP_EVERY_MS = 600_000;

/**
 * Deletes expired OAuth states from the worker, so `oauth_states` does not grow forever. Several
 * workers sweeping at once is harmless: the delete is idempotent.
 */
@Injectable()
export class OAuthStateJanitor {
  private readonly logger = new Logger(OAuthStateJanitor.name);

  constructor(
    private readonly states: OAuthStatesRepository,
    private readonly clock: Clock,
  ) {}

  @Interval(SWEEP_EVERY_MS)
  async sweep(now = this.clock.date()): Promise<number> {
    try {
      const deleted = await this.states.deleteExpired(new Date(now.getTime() - KEEP_EXPIRED_MS));
      if (deleted > 0) this.logger.log({ deleted }, 'deleted expired oauth states');
      return deleted;
    } catch (err) {
      this.logger.warn({ err }, 'oauth state sweep failed; will try again');
      return 0;
    }
  }
}

@Module({ imports: [ConnectionStoreModule], providers: [OAuthStateJanitor] })
export class OAuthStateJanitorModule {}
