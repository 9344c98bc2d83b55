import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { type Caller, actingUserId, callerActor } from '../auth/caller';
import { BrokerError } from '../common/error-codes';
import { type ConnectionEntity } from '../database/entities';
import { ConnectionsRepository } from '../database/repositories/connections.repository';
import {
  type SetupLeftovers,
  type UpstreamCleanup,
  providerFailureReason,
} from '../providers/provider';
import { ProviderRegistry } from '../providers/provider-registry';
import {
  SECRET_STORE,
  type SecretData,
  type SecretStore,
  SecretStoreError,
  secretStoreUnavailable,
} from '../secrets/secret-store';
import { ConnectionLocks } from '../lifecycle/connection-locks';
import { setupMetadataKeys } from '../lifecycle/setup/setup-runner';
import { SetupRunsRepository } from '../database/repositories/setup-runs.repository';
import {
  ConnectionWriter,
  secretPathFor,
  setupSecretPathFor,
} from '../lifecycle/connection-writer';
import { type ConnectionView, presentConnection } from './connection.presenter';
import {
  type ConnectionPage,
  type ListConnectionsQuery,
  encodeCursor,
  isUuid,
} from './connections.schemas';

export const DEFAULT_PAGE_SIZE = 20;

/** Provider-agnostic reads of connections, always scoped to the user the caller acts for. */
@Injectable()
export class ConnectionsService {
  private readonly logger = new Logger(ConnectionsService.name);

  constructor(
    private readonly connections: ConnectionsRepository,
    private readonly providers: ProviderRegistry,
    @Inject(SECRET_STORE) private readonly secrets: SecretStore,
    private readonly audit: AuditService,
    private readonly locks: ConnectionLocks,
    private readonly runs: SetupRunsRepository,
    private readonly writer: ConnectionWriter,
  ) {}

  async list(caller: Caller, query: ListConnectionsQuery): Promise<ConnectionPage> {
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
   * DELETE /connections/:id: undo upstream what the connection made and revoke its grant where
   * the provider allows, destroy the secret (all versions), mark the row `revoked`. Whatever was
   * left upstream is logged, audited (`connection.revoke_upstream`, partial or failure) and named
   * in the `connection.revoked` event, and does not stop the local deletion — the user asked for the broker to forget the account. A secret
   * store failure does stop it (503), leaving the row as it was so the call can be repeated.
   * Deleting an already revoked connection does nothing and succeeds (DELETE is idempotent).
   */
  async remove(caller: Caller, id: string, requestId?: string): Promise<void> {
    const owned = await this.findOwned(caller, id);
    // Under the connection's lock, on the row as it is now: a reconnect racing this disconnect
    // either finishes before it (and is then disconnected) or starts after it (a fresh path).
    await this.locks.exclusive(owned.id, async () => {
      const connection = await this.connections.findById(owned.id);
      if (connection && connection.status !== 'revoked') {
        await this.disconnect(connection, callerActor(caller), requestId);
      }
    });
  }

  private async disconnect(
    connection: ConnectionEntity,
    actor: ReturnType<typeof callerActor>,
    requestId?: string,
  ): Promise<void> {
    const [secret, setupSecret] = await Promise.all([
      this.secrets.read(connection.vaultPath),
      this.secrets.read(setupSecretPathFor(connection.id)),
    ]).catch((err: unknown) => {
      throw storeUnavailable(err);
    });
    // What setup made is listed in its run's result: the driver's inventory of what to undo.
    const run = await this.runs.findLatest(connection.id);
    const cleanup = secret
      ? await this.revokeUpstream(connection, secret.reveal(), {
          secret: setupSecret?.reveal() ?? null,
          result: run?.result ?? null,
        })
      : null;
    if (cleanup && cleanup.left.length > 0) {
      const left = cleanup.left.map((l) => `${l.resource} (${l.reason})`);
      this.logger.warn(
        { connectionId: connection.id, provider: connection.provider, left },
        'upstream revoke failed; deleting locally anyway',
      );
      await this.audit.record({
        ...actor,
        action: 'connection.revoke_upstream',
        outcome: cleanup.removed.length > 0 ? 'partial' : 'failure',
        connectionId: connection.id,
        provider: connection.provider,
        errorCode: cleanup.left[0].reason,
        requestId,
        details: { removed: cleanup.removed, left: cleanup.left },
      });
    }
    await this.destroySecrets(connection).catch((err: unknown) => {
      throw storeUnavailable(err);
    });
    // What setup made goes with the connection: its metadata keys, and its run, so a reconnect
    // starts a fresh setup instead of resuming the finished one.
    const setupKeys = new Set(setupMetadataKeys(run?.result ?? null));
    const metadata = Object.fromEntries(
      Object.entries(connection.metadata).filter(([key]) => !setupKeys.has(key)),
    );
    await this.writer.markRevoked(
      connection,
      metadata,
      cleanup && (cleanup.removed.length > 0 || cleanup.left.length > 0)
        ? { upstream_cleanup: cleanup }
        : undefined,
    );
    await this.audit.record({
      ...actor,
      action: 'connection.deleted',
      outcome: 'success',
      connectionId: connection.id,
      provider: connection.provider,
      requestId,
      ...(cleanup && cleanup.removed.length > 0
        ? { details: { upstream_removed: cleanup.removed } }
        : {}),
    });
  }

  /**
   * The driver's revoke. It reports what it could not remove instead of throwing; a throw
   * anyway (nothing could be attempted) becomes a report with everything left.
   */
  private async revokeUpstream(
    connection: ConnectionEntity,
    secret: SecretData,
    setup: SetupLeftovers,
  ): Promise<UpstreamCleanup> {
    try {
      return await this.providers.get(connection.provider).revoke(connection, secret, setup);
    } catch (err) {
      return { removed: [], left: [{ resource: 'upstream', reason: providerFailureReason(err) }] };
    }
  }

  /**
   * Every secret of the connection: its token set (all versions) and whatever lives beside it
   * under `connections/<id>/` (setup's keys, the token set of an earlier generation).
   */
  private async destroySecrets(connection: ConnectionEntity): Promise<void> {
    const base = secretPathFor(connection.id);
    const children = await this.secrets.list(`${base}/`);
    const paths = new Set([connection.vaultPath, base, ...children.map((c) => `${base}/${c}`)]);
    for (const path of paths) if (!path.endsWith('/')) await this.secrets.destroy(path);
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

function storeUnavailable(err: unknown): unknown {
  return err instanceof SecretStoreError ? secretStoreUnavailable(err) : err;
}
