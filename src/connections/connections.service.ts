import { Injectable } from '@nestjs/common';
import { type Caller, actingUserId } from '../auth/caller';
import { BrokerError } from '../common/error-codes';
import { type ConnectionEntity } from '../database/entities';
import { ConnectionsRepository } from '../database/repositories/connections.repository';
import { type ConnectionView, presentConnection } from './connection.presenter';
import { type ListConnectionsQuery, encodeCursor, isUuid } from './connections.schemas';

export const DEFAULT_PAGE_SIZE = 20;

/** Provider-agnostic reads of connections, always scoped to the user the caller acts for. */
@Injectable()
export class ConnectionsService {
  constructor(private readonly connections: ConnectionsRepository) {}

  async list(
    caller: Caller,
    query: ListConnectionsQuery,
  ): Promise<{ items: ConnectionView[]; next_cursor: string | null }> {
    const page = await this.connections.list({
      userId: actingUserId(caller),
      provider: query.provider,
      status: query.status,
      after: query.cursor,
      limit: query.limit ?? DEFAULT_PAGE_SIZE,
    });
    return {
      items: page.items.map(presentConnection),
      next_cursor: page.next ? encodeCursor(page.next) : null,
    };
  }

  async get(caller: Caller, id: string): Promise<ConnectionView> {
    return presentConnection(await this.findOwned(caller, id));
  }

  /**
   * The connection if the caller may see it. Someone else's connection and a malformed id answer
   * exactly like a missing one: 404, never 403, so ids leak nothing.
   */
  async findOwned(caller: Caller, id: string): Promise<ConnectionEntity> {
    const found = isUuid(id) ? await this.connections.findVisible(id, actingUserId(caller)) : null;
    if (!found) throw new BrokerError('not_found', 'No such connection');
    return found;
  }
}
