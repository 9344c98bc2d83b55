import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { Clock, SYSTEM_CLOCK } from '../common/clock';
import { AuditService } from '../audit/audit.service';
import { ConnectionChanges } from './connection-changes';
import { ConnectionLocks } from './connection-locks';
import { BrokerError } from '../common/error-codes';
import { type ConnectionEntity } from '../database/entities';
import {
  type ActorType,
  type Provider,
  type SetupStatus,
  type WebhookEventType,
} from '../database/enums';
import { ConnectionsRepository } from '../database/repositories/connections.repository';
import { SetupRunsRepository } from '../database/repositories/setup-runs.repository';
import { statusChangeEvent } from '../events/webhook-events';
import { WebhookOutbox } from '../events/webhook-outbox';
import {
  SECRET_STORE,
  type SecretData,
  type SecretStore,
  SecretStoreError,
  secretStoreUnavailable,
} from '../secrets/secret-store';

export interface ConnectInput {
  userId: string;
  provider: Provider;
  accountRef: string;
  displayName?: string | null;
  scopes: string[];
  expiresAt: Date;
  metadata: Record<string, unknown>;
  secret: SecretData;
  setupStatus: SetupStatus;
  /** Who connected, for the audit row; a provider callback passes the user. */
  actor: { actorType: ActorType; actorId: string };
  requestId?: string;
}

export function secretPathFor(connectionId: string): string {
  return `connections/${connectionId}`;
}

/**
 * Where post-connect setup keeps what it creates (an auth key, an SSH private key): beside the
 * token set, never in it, so a setup write never races a refresh's check-and-set.
 */
export function setupSecretPathFor(connectionId: string): string {
  return `${secretPathFor(connectionId)}/setup`;
}

/**
 * Creates or updates the connection for (user, provider, account_ref) — reconnecting the same
 * upstream account writes a new secret version to the same path and resets the status, rather
 * than creating a duplicate. The secret store is written first, then Postgres: a crash between
 * the two leaves a newer secret and an older row, which only causes an early refresh.
 */
@Injectable()
export class ConnectionWriter {
  constructor(
    private readonly connections: ConnectionsRepository,
    @Inject(SECRET_STORE) private readonly secrets: SecretStore,
    private readonly audit: AuditService,
    private readonly changes: ConnectionChanges,
    private readonly locks: ConnectionLocks,
    private readonly outbox: WebhookOutbox,
    private readonly runs: SetupRunsRepository,
    @Optional() private readonly clock: Clock = SYSTEM_CLOCK,
  ) {}

  async connect(input: ConnectInput): Promise<{ connection: ConnectionEntity; created: boolean }> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const existing = await this.connections.findByAccount(
        input.userId,
        input.provider,
        input.accountRef,
      );
      const result = existing
        ? await this.locks.exclusive(existing.id, () => this.reconnect(existing.id, input))
        : await this.create(input);
      if (result) {
        await this.audit.record({
          ...input.actor,
          action: result.created ? 'connection.created' : 'connection.reconnected',
          outcome: 'success',
          connectionId: result.connection.id,
          provider: input.provider,
          requestId: input.requestId,
        });
        return result;
      }
    }
    throw new BrokerError('conflict', 'The connection changed while it was being saved; try again');
  }

  private async create(
    input: ConnectInput,
  ): Promise<{ connection: ConnectionEntity; created: true } | null> {
    const id = randomUUID();
    const ref = await this.writeSecret(secretPathFor(id), input.secret, 0);
    // The row and its `connection.connected` event commit together (the webhook outbox).
    const connection = await this.outbox.write(async (tx) => {
      const inserted = await this.connections.insertIfAbsent(
        this.newRow(id, input, ref),
        tx.manager,
      );
      if (inserted) await tx.emit('connection.connected', inserted);
      return inserted;
    });
    if (!connection) {
      // Another request connected the same account at the same moment: drop our secret and
      // update theirs on the next attempt.
      await this.secrets.destroy(ref.path).catch(() => undefined);
      return null;
    }
    return { connection, created: true };
  }

  private newRow(
    id: string,
    input: ConnectInput,
    ref: { path: string; version: number },
  ): Partial<ConnectionEntity> {
    return {
      id,
      userId: input.userId,
      provider: input.provider,
      accountRef: input.accountRef,
      displayName: input.displayName ?? null,
      status: 'active',
      setupStatus: input.setupStatus,
      scopes: input.scopes,
      expiresAt: input.expiresAt,
      lastRefreshedAt: this.clock.date(),
      refreshFailures: 0,
      lastErrorCode: null,
      nextAttemptAt: this.clock.date(),
      metadata: input.metadata,
      vaultPath: ref.path,
      vaultVersion: ref.version,
    };
  }

  /** Under the connection's lock, on the row as it is now (a disconnect may have just ended). */
  private async reconnect(
    id: string,
    input: ConnectInput,
  ): Promise<{ connection: ConnectionEntity; created: false } | null> {
    const existing = await this.connections.findById(id);
    return existing ? this.update(existing, input) : null;
  }

  private async update(
    existing: ConnectionEntity,
    input: ConnectInput,
  ): Promise<{ connection: ConnectionEntity; created: false } | null> {
    // A revoked connection's secret was destroyed, and a destroyed path starts again at version
    // 1: reusing it would let (path, version) name two different secrets (caches, job ids). So a
    // reconnect after a disconnect gets a fresh path.
    const path =
      existing.status === 'revoked'
        ? `${secretPathFor(existing.id)}/${this.clock.now().toString(36)}`
        : existing.vaultPath;
    // The user's new grant wins over whatever a refresh wrote meanwhile, so CAS on the version
    // the store holds now rather than the one Postgres last saw.
    const current = await this.secrets.read(path);
    let ref;
    try {
      ref = await this.writeSecret(path, input.secret, current?.ref.version ?? 0);
    } catch (err) {
      if (err instanceof SecretStoreError && err.reason === 'cas_mismatch') return null;
      throw err;
    }
    const changes: Partial<ConnectionEntity> = {
      status: 'active',
      setupStatus: input.setupStatus,
      displayName: input.displayName ?? existing.displayName,
      scopes: input.scopes,
      expiresAt: input.expiresAt,
      lastRefreshedAt: this.clock.date(),
      refreshFailures: 0,
      lastErrorCode: null,
      nextAttemptAt: this.clock.date(),
      metadata: { ...existing.metadata, ...input.metadata },
      vaultPath: ref.path,
      vaultVersion: ref.version,
    };
    // The update and its `connection.reconnected` event commit together (the webhook outbox).
    const connection = await this.outbox.write(async (tx) => {
      await this.connections.update(existing.id, changes, tx.manager);
      const updated = await this.connections.findById(existing.id, tx.manager);
      if (updated) await tx.emit('connection.reconnected', updated);
      return updated;
    });
    await this.changes.publish(existing.id);
    return connection ? { connection, created: false } : null;
  }

  /**
   * The last write of a disconnect (its secrets are destroyed by then): the row becomes
   * `revoked` with what setup added to its metadata removed, its setup runs are forgotten (a
   * reconnect starts afresh), and `connection.revoked` is raised — all in one transaction.
   * `extra` goes into the event's `data` beside the connection (the disconnect's
   * `upstream_cleanup` report).
   */
  async markRevoked(
    connection: ConnectionEntity,
    metadata: Record<string, unknown>,
    extra?: Record<string, unknown>,
  ): Promise<void> {
    await this.outbox.write(async (tx) => {
      await this.connections.update(connection.id, { status: 'revoked', metadata }, tx.manager);
      await this.runs.deleteForConnection(connection.id, tx.manager);
      const revoked = await this.connections.findById(connection.id, tx.manager);
      const event = revoked && statusChangeEvent(connection.status, revoked.status);
      if (revoked && event) await tx.emit(event, revoked, extra);
    });
    await this.changes.publish(connection.id);
  }

  /**
   * What a driver's maintenance pass found (SPEC §14): `metadata` merged into the row and
   * `events` raised in one transaction, only while the row is still the one the driver saw
   * (`mergeMetadataIfUnchanged`). False when it was not: nothing written, nothing raised.
   */
  async recordMaintenance(
    seen: ConnectionEntity,
    metadata: Record<string, unknown>,
    events: readonly { type: WebhookEventType; data?: Record<string, unknown> }[],
  ): Promise<boolean> {
    const applied = await this.outbox.write(async (tx) => {
      const merged = await this.connections.mergeMetadataIfUnchanged(
        seen.id,
        seen,
        metadata,
        tx.manager,
      );
      if (!merged) return false;
      const updated = await this.connections.findById(seen.id, tx.manager);
      if (!updated) return false;
      for (const event of events) await tx.emit(event.type, updated, event.data);
      return true;
    });
    if (applied) await this.changes.publish(seen.id);
    return applied;
  }

  private async writeSecret(path: string, data: SecretData, cas: number) {
    try {
      return await this.secrets.write(path, data, { cas });
    } catch (err) {
      if (err instanceof SecretStoreError && err.reason !== 'cas_mismatch') {
        throw secretStoreUnavailable(err);
      }
      throw err;
    }
  }
}
