import { type ConnectionEntity } from '../../src/database/entities';
import { type WebhookEventType } from '../../src/database/enums';
import { type OutboxTransaction, type WebhookOutbox } from '../../src/events/webhook-outbox';

/**
 * A WebhookOutbox for unit tests: runs the write without a database transaction and keeps the
 * events it raised, in order, so a test can assert which change raised what.
 */
export class RecordingOutbox {
  readonly events: {
    type: WebhookEventType;
    connectionId: string;
    status: string;
    /** The connection's metadata as the event carries it, and what the event adds to `data`. */
    metadata: Record<string, unknown>;
    extra?: Record<string, unknown>;
  }[] = [];

  async write<T>(work: (tx: OutboxTransaction) => Promise<T>): Promise<T> {
    return work({
      manager: undefined as unknown as OutboxTransaction['manager'],
      emit: async (
        type: WebhookEventType,
        connection: ConnectionEntity,
        extra?: Record<string, unknown>,
      ) => {
        this.events.push({
          type,
          connectionId: connection.id,
          status: connection.status,
          metadata: connection.metadata,
          extra,
        });
      },
    });
  }

  types(): WebhookEventType[] {
    return this.events.map((e) => e.type);
  }

  asOutbox(): WebhookOutbox {
    return this as unknown as WebhookOutbox;
  }
}
