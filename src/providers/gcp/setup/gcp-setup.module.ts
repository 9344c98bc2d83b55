import { Module } from '@nestjs/common';
import { SetupClock } from '../../../common/clock';
import { SETUP_PLAN_TOKENS } from '../../../lifecycle/setup/setup-jobs';
import { EnableApisStep } from './enable-apis.step';
import { GcpSetupClient } from './gcp-setup.client';
import { GcpSetupPlan } from './gcp-setup.plan';
import { IamBindingsStep } from './iam-bindings.step';
import { ListProjectsStep } from './list-projects.step';
import { PropagationCheckStep } from './propagation-check.step';
import { ServiceAccountsStep } from './service-accounts.step';

/** GCP post-connect setup, run by the worker's setup processor. */
@Module({
  providers: [
    SetupClock,
    GcpSetupClient,
    ListProjectsStep,
    EnableApisStep,
    ServiceAccountsStep,
    IamBindingsStep,
    PropagationCheckStep,
    GcpSetupPlan,
    { provide: SETUP_PLAN_TOKENS['gcp.setup'], useExisting: GcpSetupPlan },
  ],
  exports: [SETUP_PLAN_TOKENS['gcp.setup']],
})
export class GcpSetupModule {}
