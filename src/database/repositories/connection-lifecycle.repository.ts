import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { type Repository } from 'typeorm';
import { ConnectionEntity } from '../entities';
import { type Provider } from '../enums';

/** A connection the scheduler should refresh: ids and timestamps only. */
export interface DueConnection {
  id: string;
  expiresAt: Date;
}

/** Keyset of the last row of a page of due connections. */
export interface DueCursor {
  expiresAt: Date;
  id: string;
}

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

/**
 * The SQL of the token lifecycle: the scheduler's due query and the guarded writes of a refresh.
 * Every write is conditional on the secret version it is based on, so an older result never
 * lands on top of a newer one.
 */
@Injectable()
export class ConnectionLifecycleRepository {
  constructor(
    @InjectRepository(ConnectionEntity) private readonly rows: Repository<ConnectionEntity>,
  ) {}

  /**
   * One page of due connections, by `IDX_connections_refresh_due` (status, expires_at), ordered
   * by (expires_at, id) so the soonest expiry is enqueued first and paging is a stable keyset.
   */
  async findDue(query: DueQuery): Promise<DueConnection[]> {
    const qb = this.dueQuery(query).select(['c.id', 'c.expiresAt']);
    const rows = await qb.getMany();
    return rows.map((r) => ({ id: r.id, expiresAt: r.expiresAt as Date }));
  }

  /** The due query's SQL and parameters, for EXPLAIN (bench) and tests. */
  dueSql(query: DueQuery): [string, unknown[]] {
    return this.dueQuery(query).select(['c.id', 'c.expiresAt']).getQueryAndParameters();
  }

  private dueQuery(query: DueQuery) {
    const qb = this.rows
      .createQueryBuilder('c')
      .where(`c.status IN ('active', 'refresh_failing')`)
      .andWhere('c.expires_at < :expiresBefore', { expiresBefore: query.expiresBefore })
      .andWhere('c.next_attempt_at <= :now', { now: query.now })
      .orderBy('c.expires_at', 'ASC')
      .addOrderBy('c.id', 'ASC')
      .limit(query.limit);
    if (query.after) {
      qb.andWhere('(c.expires_at, c.id) > (:afterExpiresAt, :afterId::uuid)', {
        afterExpiresAt: query.after.expiresAt,
        afterId: query.after.id,
      });
    }
    return qb;
  }

  /** The soonest expiry among connections the broker keeps fresh, for the expiry gauge. */
  async soonestExpiry(): Promise<Date | null> {
    const row = await this.rows
      .createQueryBuilder('c')
      .select('MIN(c.expires_at)', 'soonest')
      .where(`c.status IN ('active', 'refresh_failing')`)
      .getRawOne<{ soonest: Date | null }>();
    return row?.soonest ?? null;
  }

  async findById(id: string): Promise<ConnectionEntity | null> {
    return this.rows.findOne({ where: { id } });
  }

  /**
   * Records a refresh whose token was written to the secret store as `vaultVersion`. Skipped when
   * Postgres already points at that version or a later one (a newer writer won the race).
   */
  async recordSuccess(id: string, success: RefreshSuccess): Promise<boolean> {
    const result = await this.rows
      .createQueryBuilder()
      .update(ConnectionEntity)
      .set({
        status: 'active',
        expiresAt: success.expiresAt,
        scopes: success.scopes,
        vaultVersion: success.vaultVersion,
        lastRefreshedAt: success.refreshedAt,
        refreshFailures: 0,
        lastErrorCode: null,
        nextAttemptAt: success.refreshedAt,
      })
      .where('id = :id', { id })
      .andWhere('vault_version < :version', { version: success.vaultVersion })
      .andWhere(`status IN ('active', 'refresh_failing')`)
      .execute();
    return (result.affected ?? 0) > 0;
  }

  /**
   * Records a failed refresh of the row as it was read (`seenVersion`): a reconnect or another
   * refresh that changed the row meanwhile makes this a no-op.
   */
  async recordFailure(id: string, seenVersion: number, failure: RefreshFailure): Promise<boolean> {
    const result = await this.rows
      .createQueryBuilder()
      .update(ConnectionEntity)
      .set({
        status: failure.status,
        lastErrorCode: failure.errorCode,
        nextAttemptAt: failure.nextAttemptAt,
        refreshFailures: () => 'refresh_failures + 1',
      })
      .where('id = :id', { id })
      .andWhere('vault_version = :seenVersion', { seenVersion })
      .andWhere(`status IN ('active', 'refresh_failing')`)
      .execute();
    return (result.affected ?? 0) > 0;
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
