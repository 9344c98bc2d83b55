import { Check, Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { ACTOR_TYPES, AUDIT_OUTCOMES, sqlIn, type ActorType, type AuditOutcome } from '../enums';

/** Who did what to which connection, and how it ended. Never a secret. */
@Entity({ name: 'audit_events' })
@Index('IDX_audit_events_connection', ['connectionId', 'occurredAt'])
@Index('IDX_audit_events_occurred_at', ['occurredAt'])
@Check('CHK_audit_events_actor_type', `"actor_type" IN (${sqlIn(ACTOR_TYPES)})`)
@Check('CHK_audit_events_outcome', `"outcome" IN (${sqlIn(AUDIT_OUTCOMES)})`)
export class AuditEventEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @CreateDateColumn({ name: 'occurred_at', type: 'timestamptz' })
  occurredAt!: Date;

  @Column({ name: 'actor_type', type: 'text' })
  actorType!: ActorType;

  @Column({ name: 'actor_id', type: 'text', nullable: true })
  actorId!: string | null;

  @Column({ type: 'text' })
  action!: string;

  @Column({ name: 'connection_id', type: 'uuid', nullable: true })
  connectionId!: string | null;

  @Column({ type: 'text', nullable: true })
  provider!: string | null;

  @Column({ type: 'text' })
  outcome!: AuditOutcome;

  @Column({ name: 'error_code', type: 'text', nullable: true })
  errorCode!: string | null;

  @Column({ name: 'request_id', type: 'text', nullable: true })
  requestId!: string | null;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  details!: Record<string, unknown>;
}
