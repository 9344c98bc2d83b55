import { type ConnectionStatus, type WebhookEventType } from '../database/enums';

/**
 * Which status change of a connection raises which event (SPEC §14), as a pure rule so a unit
 * test can walk every pair. Only transitions count: a second failed retry of a failing
 * connection, or a refresh of an active one, raises nothing. `connection.connected` and
 * `connection.reconnected` are not status changes; the writer raises them on create and update.
 */
export function statusChangeEvent(
  previous: ConnectionStatus,
  next: ConnectionStatus,
): WebhookEventType | null {
  if (previous === next) return null;
  switch (next) {
    case 'refresh_failing':
      return 'connection.refresh_failing';
    case 'needs_reauth':
      return 'connection.needs_reauth';
    case 'revoked':
      return 'connection.revoked';
    case 'active':
      // Back from a failure by a refresh. (From revoked, only a reconnect makes a row active
      // again, and that is `connection.reconnected`.)
      return previous === 'refresh_failing' || previous === 'needs_reauth'
        ? 'connection.recovered'
        : null;
  }
}

/** The `webhook-id` of an event: the same on every attempt, so a receiver dedupes by it. */
export function webhookMessageId(eventId: string): string {
  return `msg_${eventId}`;
}

export interface WebhookBody {
  id: string;
  type: WebhookEventType;
  created_at: string;
  data: Record<string, unknown>;
}

export function webhookBody(event: {
  id: string;
  type: WebhookEventType;
  createdAt: Date;
  payload: Record<string, unknown>;
}): WebhookBody {
  return {
    id: webhookMessageId(event.id),
    type: event.type,
    created_at: event.createdAt.toISOString(),
    data: event.payload,
  };
}
