import { Injectable, Optional } from '@nestjs/common';
import { type Caller, callerActor } from '../auth/caller';
import { Clock, SYSTEM_CLOCK } from '../common/clock';
import { RefreshService } from '../lifecycle/refresh/refresh.service';
import { refreshProblem } from './refresh-problem';
import { RefreshRateLimit } from './refresh-rate-limit';
import { type RefreshView } from './token.service';

/**
 * The manual refresh that POST /connections/:id/refresh and Tailscale's refresh-token route
 * share: rate limited per connection, then forced through the single-flight refresh.
 */
@Injectable()
export class ManualRefresh {
  constructor(
    private readonly rateLimit: RefreshRateLimit,
    private readonly refresher: RefreshService,
    @Optional() private readonly clock: Clock = SYSTEM_CLOCK,
  ) {}

  async refreshNow(connectionId: string, caller: Caller, requestId?: string): Promise<RefreshView> {
    await this.rateLimit.hit(connectionId);
    const outcome = await this.refresher.refresh(connectionId, {
      trigger: 'manual',
      force: true,
      actor: callerActor(caller),
      requestId,
    });
    if (outcome.kind !== 'fresh' && outcome.kind !== 'refreshed') {
      throw refreshProblem(outcome, this.clock.now());
    }
    return {
      expires_at: outcome.connection.expiresAt?.toISOString() ?? null,
      refreshed_at: outcome.connection.lastRefreshedAt?.toISOString() ?? null,
    };
  }
}
