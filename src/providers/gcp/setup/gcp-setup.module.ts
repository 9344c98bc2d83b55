import { Module } from '@nestjs/common';
import { EnableApisStep } from './enable-apis.step';
import { GcpSetupClient } from './gcp-setup.client';
import { GcpSetup } from './gcp-setup.definition';
import { IamBindingsStep } from './iam-bindings.step';
import { ListProjectsStep } from './list-projects.step';
import { PropagationCheckStep } from './propagation-check.step';
import { ServiceAccountsStep } from './service-accounts.step';

/** GCP post-connect setup: its steps, collected by the driver (GcpDriver.setup). */
@Module({
  providers: [
    GcpSetupClient,
    ListProjectsStep,
    EnableApisStep,
    ServiceAccountsStep,
    IamBindingsStep,
    PropagationCheckStep,
    GcpSetup,
  ],
  exports: [GcpSetup, GcpSetupClient],
})
export class GcpSetupModule {}
