import { createHash } from 'node:crypto';
import { type JobsOptions } from 'bullmq';
import { type AppConfig } from '../config/config';
import { PROVIDERS, type Provider } from '../database/enums';

/**
 * Every BullMQ queue, job name and payload, as one typed union (STYLE practice 7). A producer
 * names a `JobSpec` and gets its payload type; a processor switches over `name` exhaustively.
 * Payloads carry ids only — never a secret (SPEC §8): the handler reads what it needs from
 * Postgres and the secret store.
 */

export const QUEUES = {
  setup: 'setup',
  refresh: 'refresh',
  webhooks: 'webhooks',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export type JobSpec =
  | { queue: typeof QUEUES.setup; name: SetupJobName; payload: { connectionId: string } }
  | { queue: typeof QUEUES.refresh; name: 'connection.refresh'; payload: { connectionId: string } }
  | { queue: typeof QUEUES.webhooks; name: 'webhook.deliver'; payload: { eventId: string } };

/** A connection's setup job is named after its provider (`gcp.setup`), as the dashboard shows it. */
export type SetupJobName = `${Provider}.setup`;

export function setupJobName(provider: Provider): SetupJobName {
  return `${provider}.setup`;
}

export function isSetupJobName(name: string): name is SetupJobName {
  return PROVIDERS.some((provider) => name === setupJobName(provider));
}

export type JobName = JobSpec['name'];
export type JobsOf<Q extends QueueName> = Extract<JobSpec, { queue: Q }>;
export type PayloadOf<N extends JobName> = Extract<JobSpec, { name: N }>['payload'];

/**
 * The job id that makes enqueueing setup idempotent: one setup per secret (path and version), so
 * a repeated callback for the same grant enqueues nothing new while a reconnect does — also after
 * a disconnect, when the secret moves to a fresh path whose versions start again at 1.
 * BullMQ accepts a `:` in a custom id only when it splits into exactly three parts.
 */
export function setupJobId(connection: {
  id: string;
  vaultPath: string;
  vaultVersion: number;
}): string {
  const generation = createHash('sha256').update(connection.vaultPath).digest('hex').slice(0, 8);
  return `setup:${connection.id}:${generation}-${connection.vaultVersion}`;
}

/**
 * The refresh job id (SPEC §6: `refresh:<id>:<expires_at>`, epoch milliseconds): while a job for
 * this token is waiting, delayed or running, the scheduler's next ticks enqueue nothing new; once
 * the token changes, the id does too.
 */
export function refreshJobId(connectionId: string, expiresAt: Date | null): string {
  return `refresh:${connectionId}:${expiresAt?.getTime() ?? 0}`;
}

/**
 * How refresh jobs are added. One attempt: the backoff after a failure is the broker's own
 * (`next_attempt_at`), never BullMQ's, so a provider sees bounded attempts. Finished jobs are
 * removed so that a later tick may enqueue the same id again (a retry after backoff keeps the
 * same `expires_at`).
 */
export const REFRESH_JOB_OPTIONS = {
  attempts: 1,
  removeOnComplete: true,
  removeOnFail: true,
} as const;

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

/**
 * Defaults for every job on the `webhooks` queue (SPEC §14): `attempts` derived from the base and
 * the 24 h window (config.ts, webhookAttempts), BullMQ's exponential backoff without jitter —
 * the n-th retry waits base × 2^(n−1) — and finished jobs kept a week (failed a month), so the
 * dashboard shows them and a relay that enqueues a just-delivered event again finds its job id
 * taken instead of delivering twice. The job id is the event id.
 */
export function webhookJobDefaults(config: Pick<AppConfig, 'webhooks'>): JobsOptions {
  return {
    attempts: config.webhooks.attempts,
    backoff: { type: 'exponential', delay: config.webhooks.retryBaseSeconds * 1000, jitter: 0 },
    removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 },
    removeOnFail: { age: 30 * 24 * 3600, count: 10_000 },
  };
}
