import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { AuditService } from '../../audit/audit.service';
import { BrokerError } from '../../common/error-codes';
import { APP_CONFIG, type AppConfig } from '../../config/config';
import { type ConnectionEntity } from '../../database/entities';
import { type ActorType } from '../../database/enums';
import { ConnectionLifecycleRepository } from '../../database/repositories/connection-lifecycle.repository';
import { ProviderError, type TokenGrant } from '../../providers/provider';
import { ProviderRegistry } from '../../providers/provider-registry';
import {
  SECRET_STORE,
  type SecretStore,
  SecretStoreError,
  SecretValue,
} from '../../secrets/secret-store';
import { LifecycleMetrics, type RefreshOutcomeLabel } from '../lifecycle-metrics';
import { type HeldLock, LockService } from '../redis-lock';
import { RefreshAuditLog } from './refresh-audit-log';
import { backoffMs, isInWindow } from './refresh-timing';
import { ConnectionChanges } from '../connection-changes';
import { Semaphore } from './semaphore';
import { TokenCache } from '../token-cache';

/** Longest a provider call may take before it counts as a transient `timeout`. */
export const PROVIDER_CALL_TIMEOUT_MS = 20_000;
/** The per-connection lock outlives the slowest provider call plus the two writes after it. */
export const REFRESH_LOCK_TTL_MS = 45_000;
/** How long a caller waits for another holder of the lock before trying to take it itself. */
const LOCK_WAIT_MS = REFRESH_LOCK_TTL_MS + 5_000;

export type RefreshTrigger = 'scheduled' | 'read' | 'manual';

export interface RefreshRequest {
  trigger: RefreshTrigger;
  /**
   * `false`: refresh only when the token is inside the window (a read, a job). `true`: refresh
   * now (the manual endpoints) — satisfied by any refresh that finishes after the request began.
   */
  force: boolean;
  actor?: { actorType: ActorType; actorId: string };
  requestId?: string;
}

/**
 * What a refresh did. `fresh`: nothing to do, or another holder refreshed meanwhile (no upstream
 * call by us). `refreshed`: we called the provider and stored the new token. `backoff`: the
 * connection is failing and its next attempt is not due yet, so the provider was not called.
 */
export type RefreshOutcome =
  | { kind: 'fresh'; connection: ConnectionEntity }
  | { kind: 'refreshed'; connection: ConnectionEntity }
  | { kind: 'backoff'; connection: ConnectionEntity };

interface Flight {
  force: boolean;
  promise: Promise<RefreshOutcome>;
}

/**
 * The one way a token gets refreshed — by the scheduled job, a token read, or the manual
 * endpoints (SPEC §6, STYLE practice 6). Per connection, at most one upstream call at a time
 * across every process: callers in this process share one promise; processes share a Redis lock
 * with an owner token; whoever holds the lock re-reads the row first and returns what another
 * holder already stored. The new token goes to the secret store with check-and-set on the
 * version read, then to Postgres, guarded by that version.
 */
@Injectable()
export class RefreshService {
  private readonly logger = new Logger(RefreshService.name);
  private readonly inflight = new Map<string, Flight>();
  private readonly windowSeconds: number;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly connections: ConnectionLifecycleRepository,
    @Inject(SECRET_STORE) private readonly secrets: SecretStore,
    private readonly providers: ProviderRegistry,
    private readonly locks: LockService,
    private readonly cache: TokenCache,
    private readonly metrics: LifecycleMetrics,
    private readonly audit: AuditService,
    private readonly changes: ConnectionChanges,
    /** Batches success audits; without it (unit tests) each goes through AuditService. */
    @Optional() private readonly auditLog?: RefreshAuditLog,
  ) {
    this.windowSeconds = config.lifecycle.refreshWindowSeconds;
    this.upstream = new Semaphore(config.lifecycle.refreshConcurrency);
  }

  /**
   * REFRESH_CONCURRENCY caps the provider calls this process makes at once. Jobs may be more (the
   * refresh processor runs several per slot) so that their Postgres, Vault and Redis work overlaps
   * the provider's latency instead of adding to it.
   */
  private readonly upstream: Semaphore;

  refresh(connectionId: string, request: RefreshRequest): Promise<RefreshOutcome> {
    return this.join(connectionId, request, new Date());
  }

  private async join(
    connectionId: string,
    request: RefreshRequest,
    requestedAt: Date,
  ): Promise<RefreshOutcome> {
    for (;;) {
      const flight = this.inflight.get(connectionId);
      if (flight === undefined) break;
      // A forced flight satisfies everyone; a due-only flight satisfies only due-only callers.
      if (flight.force || !request.force) return flight.promise;
      await flight.promise.catch(() => undefined);
    }
    const promise = this.fly(connectionId, request, requestedAt);
    const flight: Flight = { force: request.force, promise };
    this.inflight.set(connectionId, flight);
    try {
      return await promise;
    } finally {
      if (this.inflight.get(connectionId) === flight) this.inflight.delete(connectionId);
    }
  }

  private async fly(
    connectionId: string,
    request: RefreshRequest,
    requestedAt: Date,
  ): Promise<RefreshOutcome> {
    const key = `lock:refresh:${connectionId}`;
    const started = Date.now();
    for (;;) {
      const lock = await this.locks.acquire(key, REFRESH_LOCK_TTL_MS);
      if (lock) {
        try {
          return await this.underLock(connectionId, request, requestedAt, lock);
        } finally {
          await lock.release().catch((err: unknown) => {
            this.logger.warn({ err, connection_id: connectionId }, 'refresh lock release failed');
          });
        }
      }
      // Another process is refreshing this connection: wait for it, then look at what it stored.
      await this.locks.waitUntilFree(key, Date.now() + LOCK_WAIT_MS);
      const row = await this.connections.findById(connectionId);
      const settled = row ? this.settledBy(row, request, requestedAt) : undefined;
      const waited = (Date.now() - started) / 1000;
      if (row && settled) {
        this.metrics.lockWait.observe({ result: 'fresh' }, waited);
        return settled;
      }
      this.metrics.lockWait.observe({ result: 'retried' }, waited);
    }
  }

  /** The outcome when the row as it stands answers the request without an upstream call. */
  private settledBy(
    row: ConnectionEntity,
    request: RefreshRequest,
    requestedAt: Date,
  ): RefreshOutcome | undefined {
    if (row.status === 'revoked') throw new BrokerError('not_found', 'No such connection');
    if (row.status === 'needs_reauth') throw needsReauth();
    const done = request.force
      ? row.lastRefreshedAt !== null && row.lastRefreshedAt >= requestedAt
      : !isInWindow(row.expiresAt, this.windowSeconds, Date.now());
    if (done) return { kind: 'fresh', connection: row };
    if (!request.force && row.status === 'refresh_failing' && row.nextAttemptAt > new Date()) {
      return { kind: 'backoff', connection: row };
    }
    return undefined;
  }

  private async underLock(
    connectionId: string,
    request: RefreshRequest,
    requestedAt: Date,
    lock: HeldLock,
  ): Promise<RefreshOutcome> {
    const row = await this.connections.findById(connectionId);
    if (!row) throw new BrokerError('not_found', 'No such connection');
    const settled = this.settledBy(row, request, requestedAt);
    if (settled) return settled;

    const driver = this.providers.get(row.provider);
    const started = process.hrtime.bigint();
    const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
    const finish = (outcome: RefreshOutcomeLabel, reason: string) => {
      const seconds = elapsed();
      this.metrics.refreshes.inc({
        provider: row.provider,
        outcome,
        reason,
        trigger: request.trigger,
      });
      this.metrics.refreshDuration.observe({ provider: row.provider, outcome }, seconds);
      const line = {
        connection_id: row.id,
        provider: row.provider,
        trigger: request.trigger,
        outcome,
        reason,
        duration_ms: Math.round(seconds * 1000),
      };
      if (outcome === 'success') this.logger.log(line, 'token refresh');
      else this.logger.warn(line, 'token refresh');
    };

    // The latest version, not the one Postgres names: after a crash between the two writes the
    // store holds a newer token set (and perhaps a rotated refresh token) that must be built on.
    const secret = await this.readLatest(row.vaultPath);
    if (!secret) {
      finish('permanent_failure', 'secret_missing');
      await this.recordFailure(row, request, 'permanent', 'secret_missing');
      throw needsReauth();
    }

    let grant: TokenGrant;
    try {
      grant = await this.upstream.run(async () => {
        // Waiting for a slot may have eaten into the lock's TTL: renew it so the lock outlives
        // the provider call, or give up before calling if another holder could exist by now.
        // (No round trip while the lock is young: 40 s left still cover the call and the writes.)
        if (!(await lock.ensure(REFRESH_LOCK_TTL_MS - 5_000, REFRESH_LOCK_TTL_MS))) {
          throw new ProviderError(
            'transient',
            'lock_lost',
            'The refresh lock expired before the call',
          );
        }
        return withTimeout(driver.refresh(row, secret.reveal()), PROVIDER_CALL_TIMEOUT_MS);
      });
    } catch (err) {
      const failure =
        err instanceof ProviderError
          ? err
          : new ProviderError('transient', 'unexpected', 'The provider call failed', {
              cause: err,
            });
      finish(
        failure.kind === 'permanent' ? 'permanent_failure' : 'transient_failure',
        failure.reason,
      );
      if (!(err instanceof ProviderError)) {
        this.logger.error(
          { err, connection_id: row.id },
          'provider driver threw a non-provider error',
        );
      }
      const retryAfter = await this.recordFailure(row, request, failure.kind, failure.reason);
      if (failure.kind === 'permanent') throw needsReauth(failure);
      throw new BrokerError(
        'provider_unavailable',
        `The ${row.provider} token could not be refreshed right now; try again later`,
        { cause: failure, headers: { 'retry-after': String(Math.ceil(retryAfter / 1000)) } },
      );
    }

    let ref;
    try {
      ref = await this.secrets.write(row.vaultPath, grant.secret, { cas: secret.ref.version });
    } catch (err) {
      if (err instanceof SecretStoreError && err.reason === 'cas_mismatch') {
        // Someone wrote a newer version while we were upstream (a reconnect, or a holder whose
        // lock had expired). Theirs wins; ours is dropped unseen.
        finish('cas_conflict', 'cas_mismatch');
        const current = await this.connections.findById(connectionId);
        const settledNow = current ? this.settledBy(current, request, requestedAt) : undefined;
        if (current && settledNow?.kind === 'fresh') return settledNow;
        throw new BrokerError(
          'provider_unavailable',
          'The token changed while it was being refreshed; try again',
        );
      }
      finish('error', 'secret_store');
      throw secretStoreUnavailable(err);
    }

    const success = {
      expiresAt: grant.expiresAt,
      scopes: grant.scopes.length > 0 ? grant.scopes : row.scopes,
      vaultVersion: ref.version,
      refreshedAt: new Date(),
    };
    const recorded = await this.connections.recordSuccess(row.id, success);
    await this.changes.publish(row.id);
    this.cache.set(new SecretValue(ref, grant.secret));
    this.cache.dropOlder(ref.path, ref.version);
    finish('success', 'ok');
    const audit = {
      ...(request.actor ?? { actorType: 'system' as const, actorId: 'refresh' }),
      action: 'connection.refresh',
      outcome: 'success' as const,
      connectionId: row.id,
      provider: row.provider,
      requestId: request.requestId,
      details: { trigger: request.trigger, version: ref.version },
    };
    if (this.auditLog) this.auditLog.record(audit);
    else void this.audit.record(audit);
    if (!recorded) {
      // A newer version reached Postgres first (or the connection was revoked): report that.
      const current = await this.connections.findById(row.id);
      if (!current || current.status === 'revoked') {
        throw new BrokerError('not_found', 'No such connection');
      }
      return { kind: 'fresh', connection: current };
    }
    const updated: ConnectionEntity = {
      ...row,
      status: 'active',
      expiresAt: success.expiresAt,
      scopes: success.scopes,
      vaultVersion: success.vaultVersion,
      lastRefreshedAt: success.refreshedAt,
      refreshFailures: 0,
      lastErrorCode: null,
      nextAttemptAt: success.refreshedAt,
    };
    return { kind: 'refreshed', connection: updated };
  }

  private async readLatest(path: string): Promise<SecretValue | null> {
    try {
      return await this.secrets.read(path);
    } catch (err) {
      throw secretStoreUnavailable(err);
    }
  }

  /** Marks the failure on the row (when it is still the row we read) and audits it. */
  private async recordFailure(
    row: ConnectionEntity,
    request: RefreshRequest,
    kind: 'permanent' | 'transient',
    reason: string,
  ): Promise<number> {
    const pause = kind === 'permanent' ? 0 : backoffMs(row.refreshFailures + 1);
    await this.connections.recordFailure(row.id, row.vaultVersion, {
      status: kind === 'permanent' ? 'needs_reauth' : 'refresh_failing',
      errorCode: reason,
      nextAttemptAt: new Date(Date.now() + pause),
    });
    await this.changes.publish(row.id);
    await this.audit.record({
      ...(request.actor ?? { actorType: 'system', actorId: 'refresh' }),
      action: 'connection.refresh',
      outcome: 'failure',
      connectionId: row.id,
      provider: row.provider,
      errorCode: kind === 'permanent' ? 'needs_reauth' : 'provider_unavailable',
      requestId: request.requestId,
      details: { trigger: request.trigger, reason, failures: row.refreshFailures + 1 },
    });
    return pause;
  }
}

function needsReauth(cause?: unknown): BrokerError {
  return new BrokerError(
    'needs_reauth',
    'The provider no longer accepts this connection; its owner must connect it again',
    { cause },
  );
}

function secretStoreUnavailable(cause: unknown): BrokerError {
  return new BrokerError('secret_store_unavailable', 'The secret store is unavailable; try again', {
    cause,
  });
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ProviderError('transient', 'timeout', `No answer in ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
