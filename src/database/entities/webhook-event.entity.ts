import { Check, Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';
import { WEBHOOK_EVENT_TYPES, sqlIn, type WebhookEventType } from '../enums';

/**
 * The webhook outbox (SPEC §14): one row per event, inserted in the transaction of the change
 * that caused it, so an event exists exactly when its change committed. The relay and the
 * delivery job read it; the payload is the connection as the API shows it, never a secret.
 */
@Entity({ name: 'webhook_events' })
@Index('IDX_webhook_events_undelivered', ['createdAt'], {
  where: '"delivered_at" IS NULL AND "given_up_at" IS NULL',
})
@Index('IDX_webhook_events_connection', ['connectionId', 'createdAt'])
@Check('CHK_webhook_events_type', `"type" IN (${sqlIn(WEBHOOK_EVENT_TYPES)})`)
export class WebhookEventEntity {
  /** Also the delivery's `webhook-id` (`msg_<id>`) and its BullMQ job id. */
  @PrimaryColumn('uuid')
  id!: string;

  @Column({ type: 'text' })
  type!: WebhookEventType;

  @Column({ name: 'connection_id', type: 'uuid' })
  connectionId!: string;

  /** The event body's `data`: `{ connection }` in the API's shape. */
  @Column({ type: 'jsonb' })
  payload!: Record<string, unknown>;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'delivered_at', type: 'timestamptz', nullable: true })
  deliveredAt!: Date | null;

  @Column({ type: 'int', default: 0 })
  attempts!: number;

  /** The last failure, short (a status code or an error name), never a response body. */
  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError!: string | null;

  @Column({ name: 'given_up_at', type: 'timestamptz', nullable: true })
  givenUpAt!: Date | null;
}
