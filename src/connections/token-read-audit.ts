import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { AuditEventEntity } from '../database/entities';
import { type Provider } from '../database/enums';
import { LifecycleMetrics } from '../lifecycle/lifecycle-metrics';

export interface TokenRead {
  keyId: string;
  connectionId: string;
  provider: Provider;
  requestId?: string;
  at: Date;
}

const FLUSH_EVERY_MS = 1_000;
const FLUSH_AT = 200;
const MAX_BUFFERED = 10_000;

/**
 * Audit rows for token reads by API keys, written in batches (one INSERT per second, or per 200
 * reads) so the hot path only pushes to an array. A full buffer or a failed write drops rows and
 * counts them (`broker_token_read_audit_dropped_total`); it never fails a read. Pending rows are
 * written on shutdown.
 */
@Injectable()
export class TokenReadAudit implements OnApplicationShutdown {
  private readonly logger = new Logger(TokenReadAudit.name);
  private buffer: TokenRead[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    @InjectRepository(AuditEventEntity) private readonly events: Repository<AuditEventEntity>,
    private readonly metrics: LifecycleMetrics,
  ) {}

  record(read: TokenRead): void {
    if (this.buffer.length >= MAX_BUFFERED) {
      this.metrics.auditDropped.inc();
      return;
    }
    this.buffer.push(read);
    if (this.buffer.length >= FLUSH_AT) this.scheduleFlush(0);
    else this.scheduleFlush(FLUSH_EVERY_MS);
  }

  /** Writes everything buffered so far. Never rejects. */
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
    await this.flush();
  }

  private scheduleFlush(delayMs: number): void {
    if (this.timer && delayMs > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.flush(), delayMs);
    this.timer.unref();
  }

  private async write(batch: TokenRead[]): Promise<void> {
    try {
      await this.events.insert(
        batch.map((read) => ({
          occurredAt: read.at,
          actorType: 'api_key' as const,
          actorId: read.keyId,
          action: 'token.read',
          outcome: 'success' as const,
          connectionId: read.connectionId,
          provider: read.provider,
          errorCode: null,
          requestId: read.requestId ?? null,
          details: {},
        })),
      );
    } catch (err) {
      this.metrics.auditDropped.inc(batch.length);
      this.logger.error({ err, rows: batch.length }, 'token read audit write failed');
    }
  }
}
