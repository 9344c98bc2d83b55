import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { type QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { type AuditInput } from '../../audit/audit.service';
import { AuditEventEntity } from '../../database/entities';

const FLUSH_EVERY_MS = 200;
const FLUSH_AT = 100;

/**
 * Audit rows of successful refreshes, written in batches (one multi-row INSERT per 100 rows or
 * every 200 ms) instead of one transaction per refresh: at fleet scale the per-row `save` held a
 * pool connection for three round trips per refresh. Nothing is dropped: the buffer is unbounded
 * (it drains at INSERT speed), a failed write is logged like AuditService does, and shutdown
 * writes whatever is pending; a row recorded after shutdown began is written at once.
 */
@Injectable()
export class RefreshAuditLog implements OnApplicationShutdown {
  private readonly logger = new Logger(RefreshAuditLog.name);
  private buffer: { at: Date; input: AuditInput }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private closing = false;

  constructor(
    @InjectRepository(AuditEventEntity) private readonly events: Repository<AuditEventEntity>,
  ) {}

  record(input: AuditInput): void {
    this.buffer.push({ at: new Date(), input });
    if (this.closing || this.buffer.length >= FLUSH_AT) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), FLUSH_EVERY_MS);
      this.timer.unref();
    }
  }

  /** Writes everything buffered so far (after any write already under way). Never rejects. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.buffer;
    this.buffer = [];
    if (batch.length === 0) return this.flushing;
    this.flushing = this.flushing.then(() => this.write(batch));
    return this.flushing;
  }

  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    await this.flush();
  }

  private async write(batch: { at: Date; input: AuditInput }[]): Promise<void> {
    try {
      // TypeORM's deep-partial type cannot see through the jsonb `details` column.
      await this.events.insert(
        batch.map(({ at, input }) => ({
          occurredAt: at,
          actorType: input.actorType,
          actorId: input.actorId ?? null,
          action: input.action,
          outcome: input.outcome,
          connectionId: input.connectionId ?? null,
          provider: input.provider ?? null,
          errorCode: input.errorCode ?? null,
          requestId: input.requestId ?? null,
          details: input.details ?? {},
        })) as QueryDeepPartialEntity<AuditEventEntity>[],
      );
    } catch (err) {
      this.logger.error({ err, rows: batch.length }, 'refresh audit write failed');
    }
  }
}
