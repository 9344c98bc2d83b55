import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../config/config';
import { backoffMs } from '../../../common/backoff';
import { Clock } from '../../../common/clock';
import { type SetupContext, type SetupStep, type StepOutcome } from '../../setup-step';
import { GcpSetupClient } from './gcp-setup.client';
import { GoogleApiError } from './google-api-error';
import { type ServiceAccountsState } from './service-accounts.step';

const MAX_BACKOFF_MS = 10_000;

export interface PropagationState {
  ready: string[];
  not_ready: string[];
}

/**
 * propagation_check: IAM changes take a while to reach every Google frontend. Each service
 * account is impersonated (generateAccessToken) with backoff until it works or the deadline
 * (GCP_SETUP_PROPAGATION_TIMEOUT_SECONDS) passes; some still failing makes the run `partial`.
 */
@Injectable()
export class PropagationCheckStep implements SetupStep {
  readonly name = 'propagation_check';

  constructor(
    private readonly google: GcpSetupClient,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async run(ctx: SetupContext): Promise<StepOutcome> {
    const accounts = ctx.stateOf<ServiceAccountsState>('service_accounts')?.accounts ?? {};
    const emails = [accounts.rw?.email, accounts.ro?.email].filter(
      (e): e is string => e !== undefined,
    );
    if (emails.length === 0) return { status: 'skipped', detail: 'no service accounts to check' };
    const ready = new Set(ctx.state<PropagationState>()?.ready ?? []);
    const deadline = this.clock.now() + this.config.gcp.setup.propagationTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      for (const email of emails.filter((e) => !ready.has(e))) {
        if (await this.works(ctx, email)) ready.add(email);
      }
      await ctx.saveState({ ready: [...ready], not_ready: emails.filter((e) => !ready.has(e)) });
      await ctx.progress(ready.size / emails.length);
      if (ready.size === emails.length) {
        return { status: 'succeeded', detail: `${emails.length} service account(s) usable` };
      }
      const wait = backoffMs(this.config.gcp.setup.retryBaseMs, attempt, MAX_BACKOFF_MS);
      if (this.clock.now() + wait > deadline) break;
      await this.clock.sleep(wait);
    }
    const missing = emails.filter((e) => !ready.has(e));
    return {
      status: 'partial',
      errorCode: 'gcp_propagation_timeout',
      detail: `not usable before the deadline: ${missing.join(', ')}; retry setup later`,
    };
  }

  /** Whether impersonation works now. Every failure counts as "not yet": the deadline bounds it. */
  private async works(ctx: SetupContext, email: string): Promise<boolean> {
    try {
      await this.google.canImpersonate(await ctx.accessToken(), email);
      return true;
    } catch (err) {
      if (err instanceof GoogleApiError) return false;
      throw err;
    }
  }
}
