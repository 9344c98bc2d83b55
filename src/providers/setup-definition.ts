import { type AppConfig } from '../config/config';
import { type SetupStep } from './setup-step';

/** What a setup run looks like to a provider's definition: its steps, inputs and results only. */
export interface SetupRunFacts {
  status: string;
  inputs: Record<string, unknown> | null;
  result: Record<string, unknown> | null;
}

/** A retry's input as a provider accepts it: what to keep with the run, and whether it changed. */
export interface AcceptedInput {
  inputs: Record<string, unknown>;
  changed: boolean;
}

/**
 * A provider's post-connect setup (SPEC §5): its steps, in order, and what it adds to the
 * generic runner's vocabulary. The api shows a run from the definition; the worker runs `steps`.
 */
export interface SetupDefinition {
  /** The step names, in order. Part of the API (GET /connections/:id/setup). */
  readonly stepNames: readonly string[];
  /** The steps themselves; their names must be `stepNames` (checked at worker start). */
  readonly steps: readonly SetupStep[];
  /**
   * Present when a retry may carry input (GCP: a project selection answering needs_selection).
   * `accept` validates the retry's body against the run and throws a `validation_failed` or
   * `conflict` BrokerError; undefined means "no input, keep what the run has". A changed input
   * re-runs every step after `resetsStepsAfter`.
   */
  readonly input?: {
    readonly resetsStepsAfter: string;
    accept(
      body: Record<string, unknown>,
      run: SetupRunFacts,
      config: AppConfig,
    ): AcceptedInput | undefined;
  };
  /** Provider facts a run shows beside the generic fields (GCP: eligible_projects, selection). */
  present?(run: SetupRunFacts): Record<string, unknown>;
}
