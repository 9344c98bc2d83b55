import { Module } from '@nestjs/common';
import { ConnectionStoreModule } from '../connection-store.module';
import { SetupRunsRepository } from '../../database/repositories/setup-runs.repository';
import { LifecycleCoreModule } from '../lifecycle-core.module';
import { GcpSetupModule } from '../../providers/gcp/setup/gcp-setup.module';
import { TailscaleSetupModule } from '../../providers/tailscale/setup/tailscale-setup.module';
import { ACCESS_TOKEN_SOURCE } from './access-token-source';
import { RefreshingAccessTokens } from './refreshing-access-tokens';
import { SETUP_JOB_NAMES, SETUP_PLAN_TOKENS } from './setup-jobs';
import { SetupLock } from './setup-lock';
import { SETUP_PLANS, SetupRunner, type SetupPlans } from './setup-runner';
import { type SetupPlan } from './setup-step';
import { SetupProcessor } from './setup.processor';

/**
 * The worker side of setup: the `setup` queue's processor and each provider's plan. A job name
 * without a plan stops the worker at start ({@link SetupRunner.assertHandlers}).
 */
@Module({
  imports: [ConnectionStoreModule, LifecycleCoreModule, GcpSetupModule, TailscaleSetupModule],
  providers: [
    SetupRunsRepository,
    SetupLock,
    SetupRunner,
    SetupProcessor,
    { provide: ACCESS_TOKEN_SOURCE, useClass: RefreshingAccessTokens },
    {
      provide: SETUP_PLANS,
      inject: SETUP_JOB_NAMES.map((name) => ({ token: SETUP_PLAN_TOKENS[name], optional: true })),
      useFactory: (...plans: (SetupPlan | undefined)[]): SetupPlans =>
        Object.fromEntries(SETUP_JOB_NAMES.map((name, i) => [name, plans[i]])),
    },
  ],
})
export class SetupWorkerModule {}
