import { Injectable } from '@nestjs/common';
import { type SetupPlan, type SetupStep } from '../../../lifecycle/setup/setup-step';
import { EnableApisStep } from './enable-apis.step';
import { IamBindingsStep } from './iam-bindings.step';
import { ListProjectsStep } from './list-projects.step';
import { PropagationCheckStep } from './propagation-check.step';
import { ServiceAccountsStep } from './service-accounts.step';

/** The `gcp.setup` job: the five steps of SPEC §5, in order. */
@Injectable()
export class GcpSetupPlan implements SetupPlan {
  readonly steps: readonly SetupStep[];

  constructor(
    listProjects: ListProjectsStep,
    enableApis: EnableApisStep,
    serviceAccounts: ServiceAccountsStep,
    iamBindings: IamBindingsStep,
    propagationCheck: PropagationCheckStep,
  ) {
    this.steps = [listProjects, enableApis, serviceAccounts, iamBindings, propagationCheck];
  }
}
