import { BrokerError } from '../common/error-codes';
import { type ConnectionEntity } from '../database/entities';
import { type RefreshOutcome } from '../lifecycle/refresh/refresh-outcome';

/** The outcomes a caller is not served from. */
export type UnservedOutcome = Extract<
  RefreshOutcome,
  { kind: 'backoff' | 'needs_reauth' | 'failing' | 'gone' }
>;

/**
 * The HTTP edge of a refresh that did not produce a token to serve: one mapping from the
 * engine's outcome values to problem+json (409 needs_reauth, 404, 503 with Retry-After).
 */
export function refreshProblem(outcome: UnservedOutcome, now: number): BrokerError {
  switch (outcome.kind) {
    case 'gone':
      return new BrokerError('not_found', 'No such connection');
    case 'needs_reauth':
      return needsReauthProblem();
    case 'failing':
      return new BrokerError(
        'provider_unavailable',
        `The ${outcome.connection.provider} token could not be refreshed right now; try again later`,
        { headers: retryAfter(outcome.retryAt, now) },
      );
    case 'backoff':
      return expiredWhileFailing(outcome.connection, now);
  }
}

export function needsReauthProblem(): BrokerError {
  return new BrokerError(
    'needs_reauth',
    'The provider no longer accepts this connection; its owner must connect it again',
  );
}

/** A failing connection whose token has expired: nothing to serve until its next attempt. */
export function expiredWhileFailing(connection: ConnectionEntity, now: number): BrokerError {
  return new BrokerError(
    'provider_unavailable',
    `The ${connection.provider} token expired and the provider is failing; the next attempt is at ${connection.nextAttemptAt.toISOString()}`,
    { headers: retryAfter(connection.nextAttemptAt, now) },
  );
}

function retryAfter(at: Date, now: number): Record<string, string> {
  return { 'retry-after': String(Math.max(1, Math.ceil((at.getTime() - now) / 1000))) };
}
