import { createHash } from 'node:crypto';

/**
 * Every BullMQ queue, job name and payload, as one typed union (STYLE practice 7). A producer
 * names a `JobSpec` and gets its payload type; a processor switches over `name` exhaustively.
 * Payloads carry ids only — never a secret (SPEC §8): the handler reads what it needs from
 * Postgres and the secret store.
 */

export const QUEUES = {
  setup: 'setup',
  refresh: 'refresh',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export type JobSpec =
  | { queue: typeof QUEUES.setup; name: 'gcp.setup'; payload: { connectionId: string } }
  | { queue: typeof QUEUES.setup; name: 'tailscale.setup'; payload: { connectionId: string } }
  | { queue: typeof QUEUES.refresh; name: 'connection.refresh'; payload: { connectionId: string } };

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
