import { type SetupDefinition } from '../../../lifecycle/setup/setup-definition';

/** The GCP setup steps, in order (SPEC §5). Names are part of the API (GET /connections/:id/setup). */
export const GCP_SETUP_STEPS = [
  'list_projects',
  'enable_apis',
  'service_accounts',
  'iam_bindings',
  'propagation_check',
] as const;
export type GcpSetupStepName = (typeof GCP_SETUP_STEPS)[number];

export const GCP_SETUP_DEFINITION: SetupDefinition = {
  provider: 'gcp',
  steps: GCP_SETUP_STEPS,
  // A selection answers needs_selection; changing it re-runs the steps that act on projects.
  selection: { resetsStepsAfter: 'list_projects', max: (config) => config.gcp.setupMaxProjects },
};
