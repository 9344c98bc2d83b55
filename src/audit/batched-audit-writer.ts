import {
  type FactoryProvider,
  type InjectionToken,
  Logger,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { getRepositoryToken } from '@nestjs/typeorm';
import { type Repository } from 'typeorm';
import { AuditEventEntity } from '../database/entities';
import { type AuditInput, auditRowOf } from './audit.service';

/**
 * The batch as one JSON array ($1), one row per element; the table's defaults fill `id`.
 * Hand-written rather than TypeORM's `insert`: its query builder makes a parameter per column
 * per row and searches the list for each (`createParameter`), about 1 % of the refresh worker's
 * busy time and 3-4 % of everything it allocated in the fleet bench's profile (bench/).
 */
const INSERT_BATCH = `INSERT INTO audit_events
    (occurred_at, actor_type, actor_id, action, connection_id, provider, outcome, error_code,
     request_id, details)
  SELECT occurred_at, actor_type, actor_id, action, connection_id, provider, outcome, error_code,
         request_id, details
    FROM jsonb_to_recordset($1::jsonb) AS r(
      occurred_at timestamptz, actor_type text, actor_id text, action text, connection_id uuid,
      provider text, outcome text, error_code text, request_id text, details jsonb)`;

/** A buffered row as the statement's JSON element: the audit row, under the table's column names. */
function columnsOf({ at, input }: { at: Date; input: AuditInput }): Record<string, unknown> {
  const row = auditRowOf(input);
  return {
    occurred_at: at,
    actor_type: row.actorType,
    actor_id: row.actorId,
    action: row.action,
    connection_id: row.connectionId,
    provider: row.provider,
    outcome: row.outcome,
    error_code: row.errorCode,
    request_id: row.requestId,
    details: row.details,
  };
}

export interface BatchPolicy {
  /** What the rows are, for the log line of a failed write ("refresh audit"). */
  what: string;
  /** A batch is written once this many rows wait… */
  flushAt: number;
  /** …or this long after the first of them was recorded. */
  flushEveryMs: number;
  /**
   * Rows past this many waiting are dropped (and counted by `dropped`), so that a Postgres that
   * does not answer cannot grow the buffer without bound. Absent: nothing is dropped.
   */
  maxBuffered?: number;
  /** Counts rows dropped: a full buffer, or a batch whose write failed. */
  dropped?: (rows: number) => void;
}

/**
 * Audit rows written in batches, one multi-row INSERT per `flushAt` rows or `flushEveryMs`,
 * instead of one transaction per row, for the audits of hot paths (a refresh's success, a token
 * read by an API key): the caller only pushes to an array. A failed write is logged (and counted)
 * and never fails the caller, as with AuditService. Shutdown writes whatever is pending; a row
 * recorded after shutdown began is written at once.
 */
export class BatchedAuditWriter implements OnApplicationShutdown {
  private readonly logger = new Logger(BatchedAuditWriter.name);
  private buffer: { at: Date; input: AuditInput }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private closing = false;

  constructor(
    private readonly events: Repository<AuditEventEntity>,
    private readonly policy: BatchPolicy,
  ) {}

  /** Buffers the row, stamped `at` (now by default). */
  record(input: AuditInput, at: Date = new Date()): void {
    const { maxBuffered, dropped } = this.policy;
    if (maxBuffered !== undefined && this.buffer.length >= maxBuffered) {
      dropped?.(1);
      return;
    }
    this.buffer.push({ at, input });
    if (this.closing || this.buffer.length >= this.policy.flushAt) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.policy.flushEveryMs);
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
      await this.events.query(INSERT_BATCH, [JSON.stringify(batch.map(columnsOf))]);
    } catch (err) {
      this.policy.dropped?.(batch.length);
      this.logger.error({ err, rows: batch.length }, `${this.policy.what} write failed`);
    }
  }
}

/**
 * A module's own batched writer under `token`, its policy made from the providers in `inject`
 * (a metric to count drops, say). Each hot path has its own buffer and policy.
 */
export function batchedAuditWriter<D extends unknown[]>(
  token: symbol,
  policy: (...deps: D) => BatchPolicy,
  inject: InjectionToken[] = [],
): FactoryProvider<BatchedAuditWriter> {
  return {
    provide: token,
    useFactory: (events: Repository<AuditEventEntity>, ...deps: D) =>
      new BatchedAuditWriter(events, policy(...deps)),
    inject: [getRepositoryToken(AuditEventEntity), ...inject],
  };
}
