import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { Clock, SYSTEM_CLOCK } from '../common/clock';
import { type Caller, actingUserId, callerActor } from '../auth/caller';
import { BrokerError } from '../common/error-codes';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { ConnectionsService } from './connections.service';
import { type ConnectionEntity } from '../database/entities';
import {
  SECRET_STORE,
  type SecretStore,
  type SecretValue,
  secretStoreUnavailable,
} from '../secrets/secret-store';
import { LifecycleMetrics, type TokenReadOutcome } from '../lifecycle/lifecycle-metrics';
import { RefreshService } from '../lifecycle/refresh/refresh.service';
import { isInWindow, isServable } from '../lifecycle/refresh/refresh-timing';
import { ConnectionRowCache } from '../lifecycle/connection-row-cache';
import { TokenCache } from '../lifecycle/token-cache';
import { type BatchPolicy, type BatchedAuditWriter } from '../audit/batched-audit-writer';
import { z } from 'zod';
import { dateTimeString, responseSchema } from '../openapi/contract';
import { needsReauthProblem, refreshProblem } from './refresh-problem';
import { ProviderRegistry } from '../providers/provider-registry';
import { type CredentialProvider, tokenFieldsOf } from '../providers/provider';
import { registeredTokenViews } from '../providers/token-views';

/** The batched writer of token reads' audit rows (connections.module.ts). */
export const TOKEN_READ_AUDIT = Symbol('TOKEN_READ_AUDIT');

/**
 * Reads by API keys are audited in batches (one INSERT per second, or per 200 reads) so the hot
 * path only pushes to an array. A full buffer or a failed write drops rows and counts them
 * (`broker_token_read_audit_dropped_total`); it never fails a read.
 */
export function tokenReadAuditPolicy(metrics: LifecycleMetrics): BatchPolicy {
  return {
    what: 'token read audit',
    flushAt: 200,
    flushEveryMs: 1_000,
    maxBuffered: 10_000,
    dropped: (rows) => metrics.auditDropped.inc(rows),
  };
}

/** GET /connections/:id/token by default. Never a refresh token, client secret or private key. */
export const accessTokenView = responseSchema(
  'AccessToken',
  z.object({
    access_token: z.string(),
    token_type: z.string().meta({ example: 'Bearer' }),
    expires_at: dateTimeString,
    scope: z.string().describe('Space-separated scopes'),
  }),
);

export type AccessTokenView = z.output<typeof accessTokenView>;

/**
 * The token route's answer: the default one, or the shape the connection's provider gives its
 * credentials (registered by the provider, see providers/token-views.ts). Lazy, because the
 * providers register theirs when their modules load, after this one.
 */
export const tokenView = responseSchema(
  'ConnectionToken',
  z.lazy(() => z.xor([accessTokenView, ...registeredTokenViews()])),
);

export type TokenView = AccessTokenView | Record<string, unknown>;

/** `?format=`: another shape of the answer, where the connection's provider has one. */
export const tokenQuery = z
  .object({
    format: z
      .string()
      .max(64)
      .regex(/^[a-z_]+$/, 'must be a format name')
      .optional()
      .describe(
        "Another shape of the answer, offered by the connection's provider (such as credential_process); 400 otherwise",
      ),
  })
  .strict();

export type TokenQuery = z.infer<typeof tokenQuery>;

/** POST /connections/:id/refresh. */
export const refreshView = responseSchema(
  'RefreshResult',
  z.object({ expires_at: dateTimeString.nullable(), refreshed_at: dateTimeString.nullable() }),
);

export type RefreshView = z.output<typeof refreshView>;

/**
 * Hands out access tokens. The hot path is one indexed Postgres read (ownership and the current
 * secret version) and an in-memory cache hit; the secret store is read once per version, and the
 * provider only when the token is inside the refresh window.
 */
@Injectable()
export class TokenService {
  private readonly logger = new Logger(TokenService.name);
  private readonly windowSeconds: number;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly connections: ConnectionsService,
    private readonly refresher: RefreshService,
    @Inject(SECRET_STORE) private readonly secrets: SecretStore,
    private readonly cache: TokenCache,
    private readonly rowCache: ConnectionRowCache,
    private readonly metrics: LifecycleMetrics,
    @Inject(TOKEN_READ_AUDIT) private readonly readAudit: BatchedAuditWriter,
    private readonly providers: ProviderRegistry,
    @Optional() private readonly clock: Clock = SYSTEM_CLOCK,
  ) {
    this.windowSeconds = config.lifecycle.refreshWindowSeconds;
  }

  async read(
    caller: Caller,
    id: string,
    requestId?: string,
    query: TokenQuery = {},
  ): Promise<TokenView> {
    const found = await this.ownedRow(caller, id);
    // Presenting a stored token needs no upstream call: a disabled provider's driver still can.
    const driver = this.providers.driverOf(found.provider);
    this.checkFormat(driver, query.format);
    let outcome: TokenReadOutcome = 'error';
    try {
      const { connection, refreshed } = await this.current(found, caller, requestId);
      const secret = await this.secretOf(connection, driver);
      const view = driver?.tokenView
        ? driver.tokenView(secret.reveal(), connection, query.format)
        : present(connection, secret);
      outcome = refreshed ?? 'served';
      if (caller.kind === 'api_key') {
        this.readAudit.record(
          {
            actorType: 'api_key',
            actorId: caller.keyId,
            action: 'token.read',
            outcome: 'success',
            connectionId: connection.id,
            provider: connection.provider,
            requestId,
          },
          this.clock.date(),
        );
      }
      return view;
    } catch (err) {
      if (err instanceof BrokerError) {
        if (err.code === 'needs_reauth') outcome = 'needs_reauth';
        else if (err.code === 'provider_unavailable') outcome = 'unavailable';
      }
      throw err;
    } finally {
      this.metrics.tokenReads.inc({ provider: found.provider, outcome });
    }
  }

  /** A format the connection's provider does not offer is a 400, before any refresh. */
  private checkFormat(driver: CredentialProvider | undefined, format: string | undefined): void {
    if (format === undefined || driver?.tokenFormats?.includes(format)) return;
    const offering = this.providers.providersWithTokenFormat(format);
    // A format some provider offers is named (it is ours, not the caller's); any other is not.
    const message =
      offering.length > 0
        ? `${format} is only for connections of ${offering.join(', ')}`
        : 'is not a format this connection offers';
    throw new BrokerError('validation_failed', `format ${message}`, {
      errors: [{ path: 'format', message }],
    });
  }

  /** The caller's connection, from the per-process row cache when it holds it (see ConnectionRowCache). */
  private async ownedRow(caller: Caller, id: string): Promise<ConnectionEntity> {
    const cached = this.rowCache.get(id);
    const user = actingUserId(caller);
    if (cached && (user === undefined || cached.userId === user)) return cached;
    // Taken before the query: a change (a DELETE, a refresh) meanwhile keeps this row uncached.
    const ticket = this.rowCache.ticket(id);
    const row = await this.connections.findOwned(caller, id);
    this.rowCache.set(row, this.clock.now(), ticket);
    return row;
  }

  /** The connection whose token to serve, refreshed first when it is inside the window. */
  private async current(
    row: ConnectionEntity,
    caller: Caller,
    requestId?: string,
  ): Promise<{ connection: ConnectionEntity; refreshed?: 'refreshed' | 'stale_served' }> {
    switch (row.status) {
      case 'revoked':
        throw refreshProblem({ kind: 'gone' }, this.clock.now());
      case 'needs_reauth':
        throw needsReauthProblem();
      case 'active':
      case 'refresh_failing':
        break;
    }
    if (!isInWindow(row.expiresAt, this.windowSeconds, this.clock.now()))
      return { connection: row };
    const outcome = await this.refresher.refresh(row.id, {
      trigger: 'read',
      force: false,
      actor: callerActor(caller),
      requestId,
    });
    switch (outcome.kind) {
      case 'refreshed':
        return { connection: outcome.connection, refreshed: 'refreshed' };
      case 'fresh':
        return { connection: outcome.connection };
      case 'backoff':
        if (isServable(outcome.connection.expiresAt, this.clock.now())) {
          return { connection: outcome.connection, refreshed: 'stale_served' };
        }
        throw refreshProblem(outcome, this.clock.now());
      case 'failing':
        // A transient failure does not take away a token that still works.
        if (isServable(row.expiresAt, this.clock.now())) {
          return { connection: row, refreshed: 'stale_served' };
        }
        throw refreshProblem(outcome, this.clock.now());
      case 'needs_reauth':
      case 'gone':
        throw refreshProblem(outcome, this.clock.now());
    }
  }

  private async secretOf(
    connection: ConnectionEntity,
    driver: CredentialProvider | undefined,
  ): Promise<SecretValue> {
    const ref = { path: connection.vaultPath, version: connection.vaultVersion };
    const cached = this.cache.get(ref);
    if (cached) return cached;
    let secret: SecretValue | null;
    try {
      secret = await this.secrets.read(ref.path, ref.version);
    } catch (err) {
      throw secretStoreUnavailable(err);
    }
    if (!secret) {
      this.logger.error(
        { connection_id: connection.id, version: ref.version },
        'the secret version Postgres names is missing from the secret store',
      );
      throw new BrokerError('secret_store_unavailable', 'The token is not available; try again');
    }
    this.cache.set(secret, tokenFieldsOf(driver));
    return secret;
  }
}

function present(connection: ConnectionEntity, secret: SecretValue): AccessTokenView {
  const data = secret.reveal();
  const accessToken = data.access_token;
  if (!accessToken || !connection.expiresAt) {
    throw new BrokerError('secret_store_unavailable', 'The stored token set has no access token');
  }
  return {
    access_token: accessToken,
    token_type: data.token_type ?? 'Bearer',
    expires_at: connection.expiresAt.toISOString(),
    scope: connection.scopes.join(' '),
  };
}
