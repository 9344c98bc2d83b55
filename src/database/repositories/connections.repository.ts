import { type ConnectionRow, ROW_COLUMNS, fromRow } from './connection-row';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { type EntityManager, type Repository } from 'typeorm';
import { type QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { ConnectionEntity } from '../entities';
import { type ConnectionStatus, type Provider } from '../enums';
import { readRetryingOnce } from '../read-retry';

export interface ConnectionPageCursor {
  /** created_at as Postgres prints it, microseconds included, so the keyset is exact. */
  createdAt: string;
  id: string;
}

export interface ConnectionListQuery {
  userId?: string;
  provider?: Provider;
  status?: ConnectionStatus;
  after?: ConnectionPageCursor;
  limit: number;
}

export interface ConnectionPage {
  items: ConnectionEntity[];
  /** The keyset of the last item when there are more rows after it. */
  next?: ConnectionPageCursor;
}

@Injectable()
export class ConnectionsRepository {
  constructor(
    @InjectRepository(ConnectionEntity) private readonly rows: Repository<ConnectionEntity>,
  ) {}

  /** Newest first, keyset-paginated on (created_at, id). */
  list(query: ConnectionListQuery): Promise<ConnectionPage> {
    return readRetryingOnce(() => this.listOnce(query));
  }

  private async listOnce(query: ConnectionListQuery): Promise<ConnectionPage> {
    const qb = this.rows
      .createQueryBuilder('c')
      .addSelect(
        `to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
        'cursor_ts',
      )
      .orderBy('c.created_at', 'DESC')
      .addOrderBy('c.id', 'DESC')
      .limit(query.limit + 1);
    if (query.userId !== undefined) qb.andWhere('c.user_id = :userId', { userId: query.userId });
    if (query.provider !== undefined)
      qb.andWhere('c.provider = :provider', { provider: query.provider });
    if (query.status !== undefined) qb.andWhere('c.status = :status', { status: query.status });
    if (query.after !== undefined) {
      qb.andWhere('(c.created_at, c.id) < (:afterTs::timestamptz, :afterId::uuid)', {
        afterTs: query.after.createdAt,
        afterId: query.after.id,
      });
    }
    const { entities, raw } = await qb.getRawAndEntities<{ cursor_ts: string }>();
    const hasMore = entities.length > query.limit;
    const items = entities.slice(0, query.limit);
    const last = items.at(-1);
    const lastRaw = raw[items.length - 1];
    return {
      items,
      next: hasMore && last && lastRaw ? { createdAt: lastRaw.cursor_ts, id: last.id } : undefined,
    };
  }

  async findByAccount(
    userId: string,
    provider: Provider,
    accountRef: string,
  ): Promise<ConnectionEntity | null> {
    return this.rows.findOne({ where: { userId, provider, accountRef } });
  }

  /** `manager`: read inside that transaction (the row it just wrote). */
  async findById(id: string, manager?: EntityManager): Promise<ConnectionEntity | null> {
    return this.repo(manager).findOne({ where: { id } });
  }

  /** Inserts a new row; a concurrent insert of the same (user, provider, account) returns null. */
  async insertIfAbsent(
    row: Partial<ConnectionEntity>,
    manager?: EntityManager,
  ): Promise<ConnectionEntity | null> {
    const result = await this.repo(manager)
      .createQueryBuilder()
      .insert()
      .into(ConnectionEntity)
      .values(row as QueryDeepPartialEntity<ConnectionEntity>)
      .orIgnore()
      .returning('id')
      .execute();
    const id = (result.raw as { id?: string }[])[0]?.id;
    return id ? this.findById(id, manager) : null;
  }

  async update(
    id: string,
    changes: Partial<ConnectionEntity>,
    manager?: EntityManager,
  ): Promise<void> {
    // TypeORM's deep-partial type cannot see through jsonb `Record<string, unknown>` columns.
    await this.repo(manager).update({ id }, changes as QueryDeepPartialEntity<ConnectionEntity>);
  }

  /**
   * Merges `patch` into the metadata only while the row is as `seen`: the same metadata (jsonb
   * equality) and secret version, not revoked. True when it merged. What a driver decided from
   * one state of the row is thus never applied over another (a reconnect, a disconnect, a second
   * worker that got there first); the caller decides again from the row as it is now.
   */
  async mergeMetadataIfUnchanged(
    id: string,
    seen: Pick<ConnectionEntity, 'metadata' | 'vaultPath' | 'vaultVersion'>,
    patch: Record<string, unknown>,
    manager?: EntityManager,
  ): Promise<boolean> {
    const result = await this.repo(manager)
      .createQueryBuilder()
      .update(ConnectionEntity)
      .set({ metadata: () => 'metadata || CAST(:patch AS jsonb)' })
      .setParameter('patch', JSON.stringify(patch))
      .where('id = :id', { id })
      .andWhere('metadata = CAST(:seen AS jsonb)', { seen: JSON.stringify(seen.metadata) })
      .andWhere('vault_path = :path AND vault_version = :version', {
        path: seen.vaultPath,
        version: seen.vaultVersion,
      })
      .andWhere(`status <> 'revoked'`)
      .execute();
    return (result.affected ?? 0) > 0;
  }

  /** The table in `manager`'s transaction when one is given (the webhook outbox's writes). */
  private repo(manager?: EntityManager): Repository<ConnectionEntity> {
    return manager ? manager.getRepository(ConnectionEntity) : this.rows;
  }

  /** One connection, scoped to its owner when `userId` is given (another user's row is "not found"). */
  async findVisible(id: string, userId?: string): Promise<ConnectionEntity | null> {
    // Every token read starts here, so it is one hand-written statement: TypeORM's query builder
    // cost more CPU than the rest of the read (bench/, token read).
    const rows = await readRetryingOnce(() =>
      this.rows.query<ConnectionRow[]>(
        userId === undefined
          ? `SELECT ${ROW_COLUMNS} FROM connections WHERE id = $1`
          : `SELECT ${ROW_COLUMNS} FROM connections WHERE id = $1 AND user_id = $2`,
        userId === undefined ? [id] : [id, userId],
      ),
    );
    return rows[0] ? this.rows.create(fromRow(rows[0])) : null;
  }
}
