import { type AppConfig } from '../../config/config';
import { type Provider } from '../../database/enums';

/**
 * What the api needs to know about a provider's setup without loading its steps: the step names
 * (to show a run before it starts) and whether a project selection applies.
 */
export interface SetupDefinition {
  provider: Provider;
  steps: readonly string[];
  /** Present when setup may stop at needs_selection; a new selection re-runs the later steps. */
  selection?: { resetsStepsAfter: string; max: (config: AppConfig) => number };
}
