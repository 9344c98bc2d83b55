import { type ConnectionEntity } from '../../database/entities';
import { type ActorType } from '../../database/enums';

export type RefreshTrigger = 'scheduled' | 'read' | 'manual';

export interface RefreshRequest {
  trigger: RefreshTrigger;
  /**
   * `false`: refresh only when the token is inside the window (a read, a job). `true`: refresh
   * now (the manual endpoints) — satisfied by any refresh that finishes after the request began.
   */
  force: boolean;
  actor?: { actorType: ActorType; actorId: string };
  requestId?: string;
}

/**
 * What a refresh did, as a value: the engine never speaks HTTP; the HTTP edge (connections/)
 * maps these to problem+json, the setup runner to step errors, the job to nothing at all.
 *
 * - `fresh`: nothing to do, or another holder refreshed meanwhile (no upstream call by us);
 * - `refreshed`: we called the provider and stored the new token;
 * - `backoff`: the connection is failing and its next attempt is not due: no provider call;
 * - `needs_reauth`: the provider says the grant or secret is dead (now, or before);
 * - `failing`: the attempt failed transiently; the next one is due at `retryAt`;
 * - `gone`: no such connection, or it was disconnected.
 *
 * `connection` is the row as the engine last saw it (the token of a `failing` one may still be
 * valid). An unavailable secret store or database is an error, not an outcome.
 */
export type RefreshOutcome =
  | { kind: 'fresh'; connection: ConnectionEntity }
  | { kind: 'refreshed'; connection: ConnectionEntity }
  | { kind: 'backoff'; connection: ConnectionEntity }
  | { kind: 'needs_reauth'; connection: ConnectionEntity }
  | { kind: 'failing'; connection: ConnectionEntity; retryAt: Date; reason: string }
  | { kind: 'gone' };
