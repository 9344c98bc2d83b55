import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { AuditEventEntity } from '../database/entities';
import { type ActorType, type AuditOutcome } from '../database/enums';

export interface AuditInput {
  actorType: ActorType;
  actorId?: string | null;
  action: string;
  outcome: AuditOutcome;
  connectionId?: string | null;
  provider?: string | null;
  errorCode?: string | null;
  requestId?: string | null;
  /** Non-secret facts only (ids, counts, names). */
  details?: Record<string, unknown>;
}

/** The row of an audit input (its `occurred_at` is the database's `now()` unless given). */
export function auditRowOf(input: AuditInput): Partial<AuditEventEntity> {
  return {
    actorType: input.actorType,
    actorId: input.actorId ?? null,
    action: input.action,
    outcome: input.outcome,
    connectionId: input.connectionId ?? null,
    provider: input.provider ?? null,
    errorCode: input.errorCode ?? null,
    requestId: input.requestId ?? null,
    details: input.details ?? {},
  };
}

/** Writes audit rows. A failed audit write is logged, never turned into a failed request. */
@Injectable()
export class AuditService {
  private readonly logger = new Logger(AuditService.name);

  constructor(
    @InjectRepository(AuditEventEntity) private readonly events: Repository<AuditEventEntity>,
  ) {}

  async record(input: AuditInput): Promise<void> {
    try {
      await this.events.save(this.events.create(auditRowOf(input)));
    } catch (err) {
      this.logger.error({ err, action: input.action }, 'audit write failed');
    }
  }
}
