import { Injectable } from '@nestjs/common';
import { BrokerError } from '../../../common/error-codes';
import { type AppConfig } from '../../../config/config';
import {
  type AcceptedInput,
  type SetupDefinition,
  type SetupRunFacts,
} from '../../setup-definition';
import { type SetupStep } from '../../setup-step';
import { BillingExportsStep } from './billing-exports.step';
import { EnableApisStep } from './enable-apis.step';
import { IamBindingsStep } from './iam-bindings.step';
import { ListProjectsStep, eligibleProjects, selectionOf } from './list-projects.step';
import { PropagationCheckStep } from './propagation-check.step';
import { ServiceAccountsStep } from './service-accounts.step';

/** The GCP setup steps, in order (SPEC §5, and §14's billing-export discovery last). Names are part of the API (GET /connections/:id/setup). */
export const GCP_SETUP_STEPS = [
  'list_projects',
  'enable_apis',
  'service_accounts',
  'iam_bindings',
  'propagation_check',
  'billing_exports',
] as const;
export type GcpSetupStepName = (typeof GCP_SETUP_STEPS)[number];

/**
 * GCP's setup: the five steps of SPEC §5, then billing-export discovery (SPEC §14), and its one input, a project selection (`project_ids`)
 * that answers needs_selection; changing it re-runs the steps that act on projects.
 */
@Injectable()
export class GcpSetup implements SetupDefinition {
  readonly stepNames = GCP_SETUP_STEPS;
  readonly steps: readonly SetupStep[];

  readonly input = {
    resetsStepsAfter: 'list_projects',
    accept: (
      body: Record<string, unknown>,
      run: SetupRunFacts,
      config: AppConfig,
    ): AcceptedInput | undefined => acceptSelection(body, run, config),
  };

  constructor(
    listProjects: ListProjectsStep,
    enableApis: EnableApisStep,
    serviceAccounts: ServiceAccountsStep,
    iamBindings: IamBindingsStep,
    propagationCheck: PropagationCheckStep,
    billingExports: BillingExportsStep,
  ) {
    this.steps = [
      listProjects,
      enableApis,
      serviceAccounts,
      iamBindings,
      propagationCheck,
      billingExports,
    ];
  }

  present(run: SetupRunFacts): Record<string, unknown> {
    const eligible = eligibleProjects(run.result);
    const selection = selectionOf(run.inputs);
    return {
      ...(eligible ? { eligible_projects: eligible } : {}),
      ...(selection ? { selection } : {}),
    };
  }
}

/** The selection, checked against the eligible projects setup found; undefined when none was sent. */
function acceptSelection(
  body: Record<string, unknown>,
  run: SetupRunFacts,
  config: AppConfig,
): AcceptedInput | undefined {
  const projectIds = selectionOf({ project_ids: body.project_ids });
  if (projectIds === undefined) {
    if (run.status === 'needs_selection') {
      throw invalid('is required: setup is waiting for a project selection');
    }
    return undefined;
  }
  const eligible = eligibleProjects(run.result);
  if (!eligible) {
    throw new BrokerError(
      'conflict',
      'Setup has not listed the projects yet; retry without project_ids',
    );
  }
  const known = new Set(eligible.map((p) => p.project_id));
  const unknown = projectIds.filter((p) => !known.has(p));
  if (unknown.length > 0) {
    throw invalid(`not among the eligible projects: ${unknown.join(', ')}`);
  }
  const max = config.gcp.setupMaxProjects;
  if (projectIds.length > max) throw invalid(`must name at most ${max} projects`);
  const changed = JSON.stringify(projectIds) !== JSON.stringify(selectionOf(run.inputs));
  return { inputs: { project_ids: projectIds }, changed };
}

function invalid(message: string): BrokerError {
  return new BrokerError('validation_failed', 'The body is not valid', {
    errors: [{ path: 'project_ids', message }],
  });
}
