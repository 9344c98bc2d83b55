import { Inject, Injectable, Optional } from '@nestjs/common';
import { Clock, SYSTEM_CLOCK } from '../../common/clock';
import { APP_CONFIG, type AppConfig } from '../../config/config';
import { type ConnectionEntity } from '../../database/entities';
import {
  RefreshStateRepository,
  type RefreshSuccess,
} from '../../database/repositories/refresh-state.repository';
import {
  type ProviderFailure,
  ProviderError,
  type TokenGrant,
  tokenFieldsOf,
} from '../../providers/provider';
import { ProviderRegistry } from '../../providers/provider-registry';
import {
  SECRET_STORE,
  type SecretStore,
  SecretStoreError,
  SecretValue,
  secretStoreUnavailable,
} from '../../secrets/secret-store';
import { statusChangeEvent } from '../../events/webhook-events';
import { WebhookOutbox } from '../../events/webhook-outbox';
import { ConnectionChanges } from '../connection-changes';
import { LockService, type HeldLock } from '../redis-lock';
import { TokenCache } from '../token-cache';
import { type RefreshOutcome, type RefreshRequest } from './refresh-outcome';
import { type AttemptReport, RefreshReporter } from './refresh-reporter';
import { failureBackoffMs, isInWindow } from './refresh-timing';
import { Semaphore } from '../../common/semaphore';
import { InProcessFlights, holdLockOrWaitForHolder } from './single-flight';

export type { RefreshOutcome, RefreshRequest, RefreshTrigger } from './refresh-outcome';

/** Longest a provider call may take before it counts as a transient `timeout`. */
export const PROVIDER_CALL_TIMEOUT_MS = 20_000;
/** The per-connection lock outlives the slowest provider call plus the two writes after it. */
export const REFRESH_LOCK_TTL_MS = 45_000;
/** How long a caller waits for another holder of the lock before trying to take it itself. */
const LOCK_WAIT_MS = REFRESH_LOCK_TTL_MS + 5_000;

/**
 * The one way a token gets refreshed — by the scheduled job, a token read, or the manual
 * endpoints (SPEC §6, STYLE practice 6). The single-flight protocol (single-flight.ts) makes
 * sure one caller at a time, across every process, runs {@link attempt}: re-read the row, call
 * the provider, then write the secret store with check-and-set on the version read, then
 * Postgres, guarded by that version. The outcome is a value (refresh-outcome.ts); what it tells
 * the world (metrics, log, audit) is the RefreshReporter's.
 */
@Injectable()
export class RefreshService {
  private readonly flights = new InProcessFlights<RefreshOutcome>();
  private readonly windowSeconds: number;
  /**
   * REFRESH_CONCURRENCY caps the provider calls this process makes at once. Jobs may be more
   * (the refresh processor runs several per slot) so that their Postgres, Vault and Redis work
   * overlaps the provider's latency instead of adding to it.
   */
  private readonly upstream: Semaphore;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly connections: RefreshStateRepository,
    @Inject(SECRET_STORE) private readonly secrets: SecretStore,
    private readonly providers: ProviderRegistry,
    private readonly locks: LockService,
    private readonly cache: TokenCache,
    private readonly report: RefreshReporter,
    private readonly changes: ConnectionChanges,
    private readonly outbox: WebhookOutbox,
    @Optional() private readonly clock: Clock = SYSTEM_CLOCK,
  ) {
    this.windowSeconds = config.lifecycle.refreshWindowSeconds;
    this.upstream = new Semaphore(config.lifecycle.refreshConcurrency);
  }

  refresh(connectionId: string, request: RefreshRequest): Promise<RefreshOutcome> {
    const requestedAt = this.clock.date();
    return this.flights.share(connectionId, request.force, () =>
      this.fly(connectionId, request, requestedAt),
    );
  }

  private fly(
    connectionId: string,
    request: RefreshRequest,
    requestedAt: Date,
  ): Promise<RefreshOutcome> {
    return holdLockOrWaitForHolder(
      this.locks,
      {
        key: `lock:refresh:${connectionId}`,
        ttlMs: REFRESH_LOCK_TTL_MS,
        waitMs: LOCK_WAIT_MS,
        // The provider-call slot is taken before the lock (SPEC §6): a slow provider makes
        // callers queue for slots, never hold a lock that lapses while they wait.
        slot: () => this.upstream.acquire(),
        attempt: (lock, releaseSlot) =>
          this.attempt(connectionId, request, requestedAt, lock, releaseSlot),
        settledByHolder: async () => {
          const row = await this.connections.findForRefresh(connectionId);
          return this.settledBy(row, request, requestedAt);
        },
        onWaited: (result, seconds) => this.report.lockWaited(result, seconds),
        onReleaseFailed: (err) => this.report.lockReleaseFailed(connectionId, err),
      },
      () => this.clock.now(),
    );
  }

  /** The outcome when the row as it stands answers the request without an upstream call. */
  private settledBy(
    row: ConnectionEntity | null,
    request: RefreshRequest,
    requestedAt: Date,
  ): RefreshOutcome | undefined {
    if (!row || row.status === 'revoked') return { kind: 'gone' };
    if (row.status === 'needs_reauth') return { kind: 'needs_reauth', connection: row };
    const done = request.force
      ? row.lastRefreshedAt !== null && row.lastRefreshedAt >= requestedAt
      : !isInWindow(row.expiresAt, this.windowSeconds, this.clock.now());
    if (done) return { kind: 'fresh', connection: row };
    // A failing connection waits out its backoff whoever asks: a manual refresh too (SPEC §6),
    // so a user's retries cannot hammer a provider that is already failing.
    if (row.status === 'refresh_failing' && row.nextAttemptAt > requestedAt) {
      return { kind: 'backoff', connection: row };
    }
    return undefined;
  }

  /** One attempt, under the connection's lock and a provider-call slot: re-read, call, store. */
  private async attempt(
    connectionId: string,
    request: RefreshRequest,
    requestedAt: Date,
    lock: HeldLock,
    releaseSlot: () => void,
  ): Promise<RefreshOutcome> {
    const row = await this.connections.findForRefresh(connectionId);
    const settled = this.settledBy(row, request, requestedAt);
    if (settled || !row) return settled ?? { kind: 'gone' };

    const driver = this.providers.get(row.provider);
    const report = this.report.start(row, request);
    // The latest version, not the one Postgres names: after a crash between the two writes the
    // store holds a newer token set (and perhaps a rotated refresh token) that must be built on.
    const secret = await this.readLatest(row.vaultPath);
    if (!secret) {
      report.finish('permanent_failure', 'secret_missing');
      return this.fail(row, request, 'permanent', 'secret_missing', lock);
    }

    let grant: TokenGrant;
    try {
      grant = await callWithDeadline(
        (signal) => driver.refresh(row, secret.reveal(), signal),
        PROVIDER_CALL_TIMEOUT_MS,
      );
    } catch (err) {
      const failure = asProviderError(err);
      if (!(err instanceof ProviderError)) this.report.unexpectedDriverError(row, err);
      report.finish(
        failure.kind === 'permanent' ? 'permanent_failure' : 'transient_failure',
        failure.reason,
      );
      return this.fail(row, request, failure.kind, failure.reason, lock);
    } finally {
      releaseSlot();
    }
    // The call may have been slow: the lock must outlive the writes that follow. Should it have
    // lapsed meanwhile, the check-and-set below still keeps a newer token from being overwritten.
    await lock.ensure(REFRESH_LOCK_TTL_MS - 5_000, REFRESH_LOCK_TTL_MS).catch(() => false);
    return this.store(
      row,
      request,
      requestedAt,
      secret,
      grant,
      report,
      tokenFieldsOf(driver),
      lock,
    );
  }

  /** Vault first (check-and-set on the version read), then Postgres, then the caches. */
  private async store(
    row: ConnectionEntity,
    request: RefreshRequest,
    requestedAt: Date,
    secret: SecretValue,
    grant: TokenGrant,
    report: AttemptReport,
    /** What a token read of this connection presents: all the token cache keeps. */
    tokenFields: readonly string[],
    lock: HeldLock,
  ): Promise<RefreshOutcome> {
    let ref;
    try {
      ref = await this.secrets.write(row.vaultPath, grant.secret, { cas: secret.ref.version });
    } catch (err) {
      if (err instanceof SecretStoreError && err.reason === 'cas_mismatch') {
        // Someone wrote a newer version while we were upstream (a reconnect, or a holder whose
        // lock had expired). Theirs wins; ours is dropped unseen.
        report.finish('cas_conflict', 'cas_mismatch');
        const current = await this.connections.findForRefresh(row.id);
        const settledNow = this.settledBy(current, request, requestedAt);
        if (settledNow?.kind === 'fresh' || settledNow?.kind === 'gone') return settledNow;
        return {
          kind: 'failing',
          connection: current ?? row,
          retryAt: this.clock.date(),
          reason: 'cas_mismatch',
        };
      }
      report.finish('error', 'secret_store');
      throw secretStoreUnavailable(err);
    }

    const success: RefreshSuccess = {
      expiresAt: grant.expiresAt,
      scopes: grant.scopes.length > 0 ? grant.scopes : row.scopes,
      vaultVersion: ref.version,
      refreshedAt: this.clock.date(),
    };
    const recorded = await this.recordSuccess(row, success);
    // Both writes are done: announce the change and let go of the lock in one round trip.
    await this.changes.publish(row.id, lock);
    this.cache.set(new SecretValue(ref, grant.secret), tokenFields);
    this.cache.dropOlder(ref.path, ref.version);
    report.finish('success', 'ok');
    this.report.succeeded(row, request, ref.version);
    if (!recorded) {
      // A newer version reached Postgres first (or the connection was revoked): report that.
      const current = await this.connections.findForRefresh(row.id);
      if (!current || current.status === 'revoked') return { kind: 'gone' };
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

  /** The success's Postgres write, and its event when it ends a failure; false when skipped. */
  private async recordSuccess(row: ConnectionEntity, success: RefreshSuccess): Promise<boolean> {
    if (row.status !== 'active') {
      // Ending a failure raises `connection.recovered`: the write and its event commit together.
      return this.outbox.write(async (tx) => {
        const change = await this.connections.recordSuccess(row.id, success, tx.manager);
        const event = change && statusChangeEvent(change.previousStatus, change.row.status);
        if (change && event) await tx.emit(event, change.row);
        return change !== null;
      });
    }
    // From `active` a success raises no event, so it needs no transaction, and concurrent
    // refreshes share one statement (RefreshStateRepository). Should a lapsed lock have let
    // another holder mark the row failing meanwhile, that recovery is raised right after.
    const change = await this.connections.recordSuccess(row.id, success);
    const event = change && statusChangeEvent(change.previousStatus, change.row.status);
    if (change && event) await this.outbox.write((tx) => tx.emit(event, change.row));
    return change !== null;
  }

  private async readLatest(path: string): Promise<SecretValue | null> {
    try {
      return await this.secrets.read(path);
    } catch (err) {
      throw secretStoreUnavailable(err);
    }
  }

  /** Marks the failure on the row (when it is still the row we read), reports it, says what now. */
  private async fail(
    row: ConnectionEntity,
    request: RefreshRequest,
    kind: ProviderFailure,
    reason: string,
    lock: HeldLock,
  ): Promise<RefreshOutcome> {
    const pause = kind === 'permanent' ? 0 : failureBackoffMs(row.refreshFailures + 1);
    const retryAt = new Date(this.clock.now() + pause);
    const status = kind === 'permanent' ? 'needs_reauth' : 'refresh_failing';
    // `connection.refresh_failing` / `connection.needs_reauth` only on the transition into the
    // status (not on every failed retry), in the failure's own transaction.
    await this.outbox.write(async (tx) => {
      const change = await this.connections.recordFailure(
        row.id,
        row.vaultVersion,
        { status, errorCode: reason, nextAttemptAt: retryAt },
        tx.manager,
      );
      const event = change && statusChangeEvent(change.previousStatus, change.row.status);
      if (change && event) await tx.emit(event, change.row);
    });
    await this.changes.publish(row.id, lock);
    await this.report.failed(row, request, kind, reason);
    const connection: ConnectionEntity = {
      ...row,
      status,
      lastErrorCode: reason,
      refreshFailures: row.refreshFailures + 1,
      nextAttemptAt: retryAt,
    };
    return kind === 'permanent'
      ? { kind: 'needs_reauth', connection }
      : { kind: 'failing', connection, retryAt, reason };
  }
}

function asProviderError(err: unknown): ProviderError {
  return err instanceof ProviderError
    ? err
    : new ProviderError('transient', 'unexpected', 'The provider call failed', { cause: err });
}

/** After a timeout, how long the aborted call may take to settle before its slot is given back. */
const ABORT_GRACE_MS = 5_000;

/**
 * The provider call with a deadline: on timeout its AbortSignal fires (the SDKs cancel the
 * request), and the call is awaited a little longer, so the slot it holds is not handed to the
 * next caller while it still runs (bounded, should a driver ignore the signal).
 */
export async function callWithDeadline<T>(
  call: (signal: AbortSignal) => Promise<T>,
  ms: number,
): Promise<T> {
  const controller = new AbortController();
  const running = call(controller.signal);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    const first = await Promise.race([running, timeout]);
    if (first !== 'timeout') return first;
  } finally {
    clearTimeout(timer);
  }
  controller.abort(new ProviderError('transient', 'timeout', `No answer in ${ms} ms`));
  await Promise.race([running.catch(() => undefined), sleep(ABORT_GRACE_MS)]);
  throw new ProviderError('transient', 'timeout', `No answer in ${ms} ms`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
