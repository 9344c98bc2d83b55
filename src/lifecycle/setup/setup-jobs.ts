import { type JobsOptions } from 'bullmq';
import { type AppConfig } from '../../config/config';
import { type Provider } from '../../database/enums';
import { type JobsOf, type QUEUES } from '../../jobs/queues';
import { GCP_SETUP_DEFINITION } from '../../providers/gcp/setup/gcp-setup.definition';
import { TAILSCALE_SETUP_DEFINITION } from '../../providers/tailscale/setup/tailscale-setup.definition';
import { type SetupDefinition } from './setup-definition';

export type SetupJobName = JobsOf<typeof QUEUES.setup>['name'];

/** Every job of the `setup` queue; a Record, so adding a job name to the union without a row fails to compile. */
export const SETUP_JOBS: Record<SetupJobName, SetupDefinition> = {
  'gcp.setup': GCP_SETUP_DEFINITION,
  'tailscale.setup': TAILSCALE_SETUP_DEFINITION,
};

export const SETUP_JOB_NAMES = Object.keys(SETUP_JOBS) as SetupJobName[];

export function isSetupJobName(name: string): name is SetupJobName {
  return Object.hasOwn(SETUP_JOBS, name);
}

/** The setup job of a provider; undefined when it has none (setup_status not_applicable). */
export function setupJobFor(
  provider: Provider,
): { name: SetupJobName; definition: SetupDefinition } | undefined {
  const name = SETUP_JOB_NAMES.find((n) => SETUP_JOBS[n].provider === provider);
  return name ? { name, definition: SETUP_JOBS[name] } : undefined;
}

/**
 * Defaults for every job on the `setup` queue (set on the queue, so a producer that passes no
 * options still gets them): exponential backoff between attempts, and finished jobs kept a while
 * so the dashboard shows them.
 */
export function setupJobDefaults(config: Pick<AppConfig, 'setupJobs'>): JobsOptions {
  return {
    attempts: config.setupJobs.attempts,
    backoff: { type: 'exponential', delay: config.setupJobs.backoffMs },
    removeOnComplete: { age: 7 * 24 * 3600, count: 1000 },
    removeOnFail: { age: 30 * 24 * 3600, count: 5000 },
  };
}

/** The id of a retry's job: one per attempt of the run, so a double submit enqueues once. */
export function setupRetryJobId(connectionId: string, attempt: number): string {
  // BullMQ accepts a `:` in a custom id only when it splits into exactly three parts.
  return `setup:${connectionId}:retry-${attempt}`;
}

/** Each provider's setup module provides its plan (its steps) under the token of its job. */
export const SETUP_PLAN_TOKENS: Record<SetupJobName, symbol> = {
  'gcp.setup': Symbol('GCP_SETUP_PLAN'),
  'tailscale.setup': Symbol('TAILSCALE_SETUP_PLAN'),
};
