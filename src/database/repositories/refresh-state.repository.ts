import { type ConnectionRow, ROW_COLUMNS, fromRow } from './connection-row';
import { Injectable } from '@nestjs/common';
import DataLoader from 'dataloader';
import { InjectRepository } from '@nestjs/typeorm';
import { type Pool } from 'pg';
import { type EntityManager, type Repository } from 'typeorm';
import { type PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { ConnectionEntity } from '../entities';
import { type ConnectionStatus, type Provider } from '../enums';

/** A connection the scheduler should refresh: ids and timestamps only. */
export interface DueConnection {
  id: string;
  expiresAt: Date;
  /** When the row's backoff ended (absent: unknown). */
  nextAttemptAt?: Date;
  /**
   * `expires_at` to the microsecond, as epoch microseconds (a Date keeps milliseconds only): the
   * exact keyset position of the row, for the next page.
   */
  expiresAtMicros?: string;
}

/**
 * Keyset of the last row of a page of due connections: that row itself will do. Without
 * `expiresAtMicros` the position is taken to the millisecond.
 */
export type DueCursor = Pick<DueConnection, 'id' | 'expiresAt' | 'expiresAtMicros'>;

export interface DueQuery {
  /** `now + REFRESH_WINDOW_SECONDS`: rows expiring before it are due. */
  expiresBefore: Date;
  /** `now`: rows whose backoff (`next_attempt_at`) ends after it wait. */
  now: Date;
  after?: DueCursor;
  limit: number;
}

export interface RefreshSuccess {
  expiresAt: Date;
  scopes: string[];
  vaultVersion: number;
  refreshedAt: Date;
}

export interface RefreshFailure {
  status: 'refresh_failing' | 'needs_reauth';
  errorCode: string;
  nextAttemptAt: Date;
}

/** A guarded write that landed: the row as written, and the status it had before. */
export interface RecordedChange {
  previousStatus: ConnectionStatus;
  row: ConnectionEntity;
}

/** A timestamptz as epoch microseconds, exactly (extract gives a numeric). */
const TIMESTAMP_TO_MICROS = (column: string) => `(extract(epoch FROM ${column}) * 1000000)::int8`;
/** The inverse, exact too (an integer times one microsecond). */
const MICROS_TO_TIMESTAMP = (param: string) =>
  `(timestamptz 'epoch' + ${param}::int8 * interval '1 microsecond')`;

/** Epoch microseconds (pg's int8 string) as a Date, to the millisecond below, as pg's own parser. */
function dateOfMicros(micros: string): Date {
  return new Date(Math.floor(Number(micros) / 1000));
}

/** A statement with the name pg prepares it under, once per pool connection. */
interface PreparedStatement {
  name: string;
  text: string;
}

const FIND_FOR_REFRESH: PreparedStatement = {
  name: 'refresh-state:find-many',
  text: `SELECT ${ROW_COLUMNS} FROM connections WHERE id = ANY($1::uuid[])`,
};

/** What a guarded update returns of the row it wrote (`c` is the updated table). */
const RETURNING = ROW_COLUMNS.split(', ')
  .map((col) => `c.${col}`)
  .join(', ');

/**
 * A guarded update of the row locked as it was (`previous`), returning the row as written and
 * the status it had before. Wrapped in a SELECT: a bare UPDATE … RETURNING comes back from
 * TypeORM as [rows, count].
 */
function guardedUpdate(name: string, update: string): PreparedStatement {
  return {
    name,
    text: `WITH previous AS (
         SELECT id AS previous_id, status AS previous_status FROM connections WHERE id = $1 FOR UPDATE),
       updated AS (${update}
         RETURNING ${RETURNING}, previous.previous_status)
       SELECT * FROM updated`,
  };
}

/**
 * Records refresh successes, one or many at once: the successes come as one JSON array ($1) and
 * their ids as an array ($2), which keeps both lookups on the primary key (joined to the JSON
 * alone, the planner scans the table). The rows are locked in id order, so two batches never wait on each
 * other in a cycle, and each is updated only under its own guard. Returns the rows written, each
 * with its status before.
 */
const RECORD_SUCCESSES: PreparedStatement = {
  name: 'refresh-state:successes',
  text: `WITH input AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS i(
           id uuid, expires_at timestamptz, scopes text[], vault_version int, refreshed_at timestamptz)),
       previous AS (
         SELECT id AS previous_id, status AS previous_status FROM connections
          WHERE id = ANY($2::uuid[]) ORDER BY id FOR UPDATE),
       updated AS (UPDATE connections c
            SET status = 'active', expires_at = i.expires_at, scopes = i.scopes,
                vault_version = i.vault_version, last_refreshed_at = i.refreshed_at,
                refresh_failures = 0, last_error_code = NULL, next_attempt_at = i.refreshed_at,
                updated_at = now()
           FROM previous, input i
          WHERE c.id = ANY($2::uuid[]) AND c.id = previous.previous_id AND i.id = c.id
            AND c.vault_version < i.vault_version AND c.status IN ('active', 'refresh_failing')
         RETURNING ${RETURNING}, previous.previous_status)
       SELECT * FROM updated`,
};

/**
 * How the refresh's row reads and success writes are gathered into one statement per batch (at
 * most 100). At fleet scale a round trip per refresh and statement was the largest share of the
 * worker's CPU after the HTTP calls (bench/, refresh fleet), most of it the socket write itself.
 *
 * - A row read runs while its refresh holds a provider-call slot, so it waits for nothing but the
 *   end of the current turn of the event loop: the reads that turn's refreshes asked for.
 * - A success write comes after the provider call, with the slot given back: it waits up to
 *   SUCCESS_WINDOW_MS for others, which only delays when the lock is let go (a token read that
 *   waits for this refresh answers that much later). Gathered by the turn alone, successes came
 *   in batches of under two and the worker spent 1.8-1.9 ms of CPU per refresh; with 5 ms,
 *   1.4-1.65 ms (cold worker); 15 ms took another 5-8 % off a warm worker's, with the fleet's
 *   time unchanged (alternated bench runs, 2026-12-02; docs/lifecycle.md).
 */
const SUCCESS_WINDOW_MS = 15;
const MAX_BATCH = 100;
const READ_BATCHING = {
  cache: false,
  maxBatchSize: MAX_BATCH,
  batchScheduleFn: (run: () => void) => setImmediate(run),
} as const;
const SUCCESS_BATCHING = {
  cache: false,
  maxBatchSize: MAX_BATCH,
  batchScheduleFn: (run: () => void) => setTimeout(run, SUCCESS_WINDOW_MS),
} as const;

const RECORD_FAILURE = guardedUpdate(
  'refresh-state:failure',
  `UPDATE connections c
      SET status = $3, last_error_code = $4, next_attempt_at = $5,
          refresh_failures = c.refresh_failures + 1, updated_at = now()
     FROM previous
    WHERE c.id = previous.previous_id AND c.vault_version = $2
      AND c.status IN ('active', 'refresh_failing')`,
);

/** RECORD_SUCCESSES's parameters for these successes (ids distinct). */
function successesParams(batch: readonly { id: string; success: RefreshSuccess }[]): unknown[] {
  const input = batch.map(({ id, success }) => ({
    id,
    expires_at: success.expiresAt,
    scopes: success.scopes,
    vault_version: success.vaultVersion,
    refreshed_at: success.refreshedAt,
  }));
  return [JSON.stringify(input), batch.map(({ id }) => id)];
}

/** The entity of a row read by hand, without TypeORM's metadata-driven `create`. */
function entityOf(row: ConnectionRow): ConnectionEntity {
  return Object.assign(new ConnectionEntity(), fromRow(row));
}

/**
 * The refresh engine's view of `connections` (ConnectionsRepository is the API's: ownership,
 * pages, connect): the scheduler's due query, the row a refresh works on, and its guarded writes.
 * Every write is conditional on the secret version it is based on, so an older result never
 * lands on top of a newer one.
 */
@Injectable()
export class RefreshStateRepository {
  private readonly rowReads = new DataLoader<string, ConnectionEntity | null>(
    (ids) => this.findMany(ids),
    READ_BATCHING,
  );
  private readonly successes = new DataLoader<
    { id: string; success: RefreshSuccess },
    RecordedChange | null
  >((batch) => this.recordSuccesses(batch), SUCCESS_BATCHING);

  constructor(
    @InjectRepository(ConnectionEntity) private readonly rows: Repository<ConnectionEntity>,
  ) {}

  /**
   * One page of due connections, by `IDX_connections_refresh_due` (status, expires_at), ordered
   * by (expires_at, id) so the soonest expiry is enqueued first and paging is a stable keyset.
   * Hand-written, like every statement a refresh runs: at fleet scale TypeORM's query builder
   * cost more worker CPU than the statements themselves (bench/, refresh fleet).
   */
  async findDue(query: DueQuery): Promise<DueConnection[]> {
    const [sql, params] = this.dueSql(query);
    const rows = await this.rows.query<
      { id: string; expires_us: string; next_attempt_us: string }[]
    >(sql, params);
    return rows.map((r) => ({
      id: r.id,
      expiresAt: dateOfMicros(r.expires_us),
      nextAttemptAt: dateOfMicros(r.next_attempt_us),
      expiresAtMicros: r.expires_us,
    }));
  }

  /**
   * The due query's SQL and parameters, for EXPLAIN (bench) and tests. The timestamps come back
   * as epoch microseconds (int8, which pg hands over as a string): a tick reads every due row,
   * and at fleet scale parsing two timestamps per row was most of the worker's date parsing
   * (bench/, refresh fleet). The keyset goes back exact, so rows that share `expires_at` below
   * the millisecond (one bulk UPDATE) are paged past, not read again.
   */
  dueSql(query: DueQuery): [string, unknown[]] {
    const params: unknown[] = [query.expiresBefore, query.now, query.limit];
    let keyset = '';
    if (query.after?.expiresAtMicros !== undefined) {
      params.push(query.after.expiresAtMicros, query.after.id);
      keyset = ` AND (c.expires_at, c.id) > (${MICROS_TO_TIMESTAMP('$4')}, $5::uuid)`;
    } else if (query.after) {
      params.push(query.after.expiresAt, query.after.id);
      keyset = ' AND (c.expires_at, c.id) > ($4, $5::uuid)';
    }
    const sql =
      `SELECT c.id, ${TIMESTAMP_TO_MICROS('c.expires_at')} AS expires_us,` +
      ` ${TIMESTAMP_TO_MICROS('c.next_attempt_at')} AS next_attempt_us FROM connections c` +
      ` WHERE c.status IN ('active', 'refresh_failing') AND c.expires_at < $1` +
      ` AND c.next_attempt_at <= $2${keyset}` +
      ` ORDER BY c.expires_at ASC, c.id ASC LIMIT $3`;
    return [sql, params];
  }

  /**
   * What the lifecycle gauges show, in one aggregate over the table, so every process that
   * exports them (not only the scheduler's leader) reports the same values at scrape time.
   */
  async gaugeSnapshot(
    expiresBefore: Date,
    now: Date,
  ): Promise<{ due: number; soonest: Date | null; byStatus: Record<string, number> }> {
    const rows = await this.rows.query<
      { status: string; n: number; due: number; soonest: Date | null }[]
    >(
      `SELECT status, COUNT(*)::int AS n,
         COUNT(*) FILTER (WHERE status IN ('active', 'refresh_failing') AND expires_at < $1
           AND next_attempt_at <= $2)::int AS due,
         MIN(expires_at) FILTER (WHERE status IN ('active', 'refresh_failing')) AS soonest
       FROM connections GROUP BY status`,
      [expiresBefore, now],
    );
    let due = 0;
    let soonest: Date | null = null;
    const byStatus: Record<string, number> = {};
    for (const row of rows) {
      byStatus[row.status] = row.n;
      due += row.due;
      if (row.soonest && (!soonest || row.soonest < soonest)) soonest = row.soonest;
    }
    return { due, soonest, byStatus };
  }

  /** The soonest expiry among connections the broker keeps fresh, for the expiry gauge. */
  async soonestExpiry(): Promise<Date | null> {
    const rows = await this.rows.query<{ soonest: Date | null }[]>(
      `SELECT MIN(expires_at) AS soonest FROM connections WHERE status IN ('active', 'refresh_failing')`,
    );
    return rows[0]?.soonest ?? null;
  }

  /** The row a refresh works on (read under the connection's lock, and after another holder). */
  findForRefresh(id: string): Promise<ConnectionEntity | null> {
    return this.rowReads.load(id);
  }

  private async findMany(ids: readonly string[]): Promise<(ConnectionEntity | null)[]> {
    const rows = await this.prepared<ConnectionRow>(undefined, FIND_FOR_REFRESH, [ids]);
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => {
      const row = byId.get(id);
      return row ? entityOf(row) : null;
    });
  }

  /**
   * Records a refresh whose token was written to the secret store as `vaultVersion`. Skipped
   * (null) when Postgres already points at that version or a later one (a newer writer won the
   * race). Otherwise returns the row as written and the status it had just before, read under
   * the row's lock in the same statement, so the caller knows whether this was a recovery.
   * Outside a transaction, concurrent calls are written together (one statement per batch).
   */
  async recordSuccess(
    id: string,
    success: RefreshSuccess,
    manager?: EntityManager,
  ): Promise<RecordedChange | null> {
    if (!manager?.queryRunner) return this.successes.load({ id, success });
    return this.recorded(manager, RECORD_SUCCESSES, successesParams([{ id, success }]));
  }

  /**
   * Records a failed refresh of the row as it was read (`seenVersion`): a reconnect or another
   * refresh that changed the row meanwhile makes this a no-op (null). Returns the row as written
   * and its status before, as {@link recordSuccess} does.
   */
  async recordFailure(
    id: string,
    seenVersion: number,
    failure: RefreshFailure,
    manager?: EntityManager,
  ): Promise<RecordedChange | null> {
    return this.recorded(manager, RECORD_FAILURE, [
      id,
      seenVersion,
      failure.status,
      failure.errorCode,
      failure.nextAttemptAt,
    ]);
  }

  private async recordSuccesses(
    batch: readonly { id: string; success: RefreshSuccess }[],
  ): Promise<(RecordedChange | null)[]> {
    // Two successes for one row in a batch (only when a lock lapsed) would both match its one
    // update: the first goes in the batch, any other after it on its own, in order.
    const ids = new Set<string>();
    const first = new Set(batch.filter(({ id }) => !ids.has(id) && ids.add(id)));
    const rows = await this.prepared<ConnectionRow & { previous_status: ConnectionStatus }>(
      undefined,
      RECORD_SUCCESSES,
      successesParams([...first]),
    );
    const written = new Map(rows.map((r) => [r.id, r]));
    const results: (RecordedChange | null)[] = [];
    for (const entry of batch) {
      const row = written.get(entry.id);
      if (first.has(entry)) {
        results.push(row ? { previousStatus: row.previous_status, row: entityOf(row) } : null);
      } else {
        results.push(await this.recorded(undefined, RECORD_SUCCESSES, successesParams([entry])));
      }
    }
    return results;
  }

  /** Runs one of the guarded updates (they join `previous`) and returns both states. */
  private async recorded(
    manager: EntityManager | undefined,
    statement: PreparedStatement,
    params: unknown[],
  ): Promise<RecordedChange | null> {
    const rows = await this.prepared<ConnectionRow & { previous_status: ConnectionStatus }>(
      manager,
      statement,
      params,
    );
    const row = rows[0];
    if (!row) return null;
    return { previousStatus: row.previous_status, row: entityOf(row) };
  }

  /**
   * A statement of the refresh's hot path. Inside a transaction (`manager` with a query runner:
   * the webhook outbox) it runs there, through TypeORM. Otherwise it goes to the pool as a named
   * prepared statement: each pool connection parses and plans it once, and the QueryRunner that
   * `Repository.query` takes and gives back per call is skipped. At fleet scale both were a
   * measurable share of the worker's CPU per refresh (bench/, refresh fleet).
   */
  private async prepared<R>(
    manager: EntityManager | undefined,
    statement: PreparedStatement,
    params: unknown[],
  ): Promise<R[]> {
    if (manager?.queryRunner) return manager.query<R[]>(statement.text, params);
    const pool = (this.rows.manager.connection.driver as PostgresDriver).master as Pool;
    const result = await pool.query<R & object>({
      name: statement.name,
      text: statement.text,
      values: params,
    });
    return result.rows;
  }

  /** The user's live (not revoked) connections of one provider, at most `limit`. */
  async findLiveOfUser(
    userId: string,
    provider: Provider,
    limit: number,
  ): Promise<ConnectionEntity[]> {
    return this.rows
      .createQueryBuilder('c')
      .where('c.user_id = :userId', { userId })
      .andWhere('c.provider = :provider', { provider })
      .andWhere(`c.status <> 'revoked'`)
      .orderBy('c.created_at', 'DESC')
      .limit(limit)
      .getMany();
  }
}
