import { type ConnectionEntity, type SetupRunEntity } from '../database/entities';

/**
 * What a setup step reports when it ends without throwing. `partial`: some of its work failed in a
 * way a re-run may fix (e.g. a service account whose IAM grant has not propagated yet).
 */
export interface StepOutcome {
  status: 'succeeded' | 'skipped' | 'partial';
  detail?: string;
  errorCode?: string;
}

/** What a step sees: the connection, its run, and ways to report progress and keep state. */
export interface SetupContext {
  readonly connection: ConnectionEntity;
  readonly run: Readonly<Pick<SetupRunEntity, 'id' | 'inputs' | 'result' | 'attempts'>>;
  /** A fresh access token for the connection, through the token service (refreshing if due). */
  accessToken(): Promise<string>;
  /** This step's saved state from an earlier (interrupted) attempt, if any. */
  state<T extends object>(): T | undefined;
  /** Another (earlier) step's saved state, e.g. the projects list_projects found. */
  stateOf<T extends object>(step: string): T | undefined;
  /** Saves this step's state so a re-run resumes instead of repeating finished work. */
  saveState(state: object): Promise<void>;
  /** Persists progress within the step (0..1) with a short human line. */
  progress(fraction: number, detail?: string): Promise<void>;
  /** Merges non-secret facts into the connection's metadata (e.g. an SSH public key). */
  mergeMetadata(metadata: Record<string, unknown>): Promise<void>;
  /**
   * Re-reads the connection and throws {@link SetupCancelled} when it was disconnected: called
   * before each secret write (and after it), so nothing is written under a destroyed path and
   * what a step just created upstream can be undone.
   */
  assertConnected(): Promise<void>;
}

export interface SetupStep {
  readonly name: string;
  run(ctx: SetupContext): Promise<StepOutcome>;
}

/**
 * A step failed. `retryable`: BullMQ tries the job again with backoff (network, 5xx, 429, an
 * operation that did not finish in time); otherwise the run ends `failed` at once (a 403, bad
 * input) — retrying a permission error would only repeat it. `detail` is shown to the user, so it
 * never holds a secret or a raw provider body; `result` holds facts the run keeps with its
 * result until the next attempt (GCP: the `missing_roles` the user should be granted).
 */
export class SetupStepError extends Error {
  constructor(
    readonly code: string,
    readonly detail: string,
    readonly options: { retryable: boolean; result?: Record<string, unknown>; cause?: unknown },
  ) {
    super(detail, { cause: options.cause });
    this.name = 'SetupStepError';
  }

  get retryable(): boolean {
    return this.options.retryable;
  }
}

/** The connection was disconnected while setup ran: the run stops, and the step undoes its work. */
export class SetupCancelled extends Error {
  constructor() {
    super('the connection was disconnected during setup');
    this.name = 'SetupCancelled';
  }
}

/** The run cannot go on until the user picks projects (POST /connections/:id/setup/retry). */
export class SetupNeedsSelection extends Error {
  constructor(readonly eligibleCount: number) {
    super(`${eligibleCount} eligible projects; choose which ones to set up`);
    this.name = 'SetupNeedsSelection';
  }
}

/** A step could not reach the secret store: retried with backoff, like any outage. */
export function secretStoreStepError(cause: unknown): SetupStepError {
  return new SetupStepError('secret_store_unavailable', 'The secret store is unavailable', {
    retryable: true,
    cause,
  });
}
