import { Module } from '@nestjs/common';
import { BillingExportsStep } from './billing-exports.step';
import { EnableApisStep } from './enable-apis.step';
import { GcpSetupClient } from './gcp-setup.client';
import { GcpSetup } from './gcp-setup.definition';
import { IamBindingsStep } from './iam-bindings.step';
import { IamPolicyEditor } from './iam-policy-editor';
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
    IamPolicyEditor,
    IamBindingsStep,
    PropagationCheckStep,
    BillingExportsStep,
    GcpSetup,
  ],
  exports: [GcpSetup, GcpSetupClient, IamPolicyEditor],
})
export class GcpSetupModule {}
