import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { BrokerError } from '../common/error-codes';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { ConnectionEntity, type PendingClaimEntity } from '../database/entities';
import { type ActorType, type Provider } from '../database/enums';
import { PendingClaimsRepository } from '../database/repositories/pending-claims.repository';
import { SetupQueue } from '../jobs/setup-queue';
import { NO_SETUP, providerFailureReason } from '../providers/provider';
import { ProviderRegistry } from '../providers/provider-registry';
import {
  SECRET_STORE,
  type SecretData,
  type SecretStore,
  SecretStoreError,
  secretStoreUnavailable,
} from '../secrets/secret-store';
import { ConnectionWriter } from './connection-writer';

/** A consent the callback checked and holds until its user claims it. */
export interface HeldGrant {
  /** The user of the login's state: the only one who may claim it. */
  userId: string;
  provider: Provider;
  accountRef: string;
  displayName: string | null;
  scopes: string[];
  expiresAt: Date;
  metadata: Record<string, unknown>;
  secret: SecretData;
  requestId?: string;
}

export interface ClaimInput {
  claim: string;
  /** The claimer: the caller's user (a JWT's `sub`, an API key's X-On-Behalf-Of, a session). */
  userId: string;
  actor: { actorType: ActorType; actorId: string };
  requestId?: string;
}

export function pendingClaimPathFor(id: string): string {
  return `pending-claims/${id}`;
}

const CLAIM_FORMAT = /^[A-Za-z0-9_-]{43}$/;
const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/**
 * A taken claim whose taker died is taken again by the sweep after this long. It is longer than
 * any claim takes (the writer's secret write and row upsert, bounded by their timeouts).
 */
export const TAKEN_CLAIM_STALE_MS = 10 * 60_000;
const SWEEP_BATCH = 50;

/**
 * Pending claims (SPEC §5): whoever finishes a consent screen is not proof of who started the
 * login, so the callback holds the grant here and the connection is made only when the user of
 * the login's state claims it. A claim by anyone else, or no claim within CLAIM_TTL_SECONDS,
 * revokes the grant upstream and destroys it. The claim code exists only in the redirect to the
 * frontend; Postgres keeps its SHA-256, the secret store the token set.
 */
@Injectable()
export class PendingClaims {
  private readonly logger = new Logger(PendingClaims.name);

  constructor(
    private readonly claims: PendingClaimsRepository,
    @Inject(SECRET_STORE) private readonly secrets: SecretStore,
    private readonly writer: ConnectionWriter,
    private readonly providers: ProviderRegistry,
    private readonly setup: SetupQueue,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Holds `grant` for its user; returns the one-time claim code (32 random bytes, base64url).
   * When it cannot be held the grant is revoked upstream before the error goes up.
   */
  async hold(grant: HeldGrant): Promise<{ claim: string; claimExpiresAt: Date }> {
    const claim = randomBytes(32).toString('base64url');
    const path = pendingClaimPathFor(randomUUID());
    const claimExpiresAt = new Date(
      this.clock.now() + this.config.lifecycle.claimTtlSeconds * 1000,
    );
    try {
      await this.secrets.write(path, grant.secret, { cas: 0 });
    } catch (err) {
      await this.revokeUpstream(grant.provider, grant.secret, 'hold');
      throw err instanceof SecretStoreError ? secretStoreUnavailable(err) : err;
    }
    try {
      await this.claims.insert({
        claimHash: sha256(claim),
        userId: grant.userId,
        provider: grant.provider,
        accountRef: grant.accountRef,
        displayName: grant.displayName,
        metadata: grant.metadata,
        scopes: grant.scopes,
        expiresAt: grant.expiresAt,
        secretPath: path,
        claimExpiresAt,
      });
    } catch (err) {
      await this.revokeUpstream(grant.provider, grant.secret, 'hold');
      await this.secrets.destroy(path).catch(() => undefined);
      throw err;
    }
    return { claim, claimExpiresAt };
  }

  /**
   * Claims `input.claim` for `input.userId`: the connection is upserted exactly as a direct
   * connect would (the writer; the secret moves from the pending path to the connection's) and
   * its setup is queued. Also the way for a caller that already knows the user (the callback
   * with the state user's session) to complete a claim at once.
   *
   * Throws 404 `claim_not_found` for an unknown, used or expired code and for a claimer who is
   * not the user of the state; in that last case the grant is revoked and destroyed first.
   */
  async claim(input: ClaimInput): Promise<{ connection: ConnectionEntity; created: boolean }> {
    const row = CLAIM_FORMAT.test(input.claim)
      ? await this.claims.takeForClaim(sha256(input.claim), input.userId, this.clock.date())
      : null;
    if (!row) {
      await this.recordClaim(input, 'failure', { errorCode: 'claim_not_found', reason: 'unknown' });
      throw notFound();
    }
    if (row.outcome !== 'claimed') {
      this.logger.warn(
        { provider: row.provider, claimId: row.id },
        'claim refused: the claimer did not start this login; revoking the grant',
      );
      await this.discard(row);
      await this.recordClaim(input, 'failure', {
        provider: row.provider,
        errorCode: 'claim_not_found',
        reason: 'other_user',
        loginUserId: row.userId,
      });
      throw notFound();
    }

    const held = await this.secrets.read(row.secretPath).catch(async (err: unknown) => {
      await this.claims.release(row.id).catch(() => undefined);
      throw err instanceof SecretStoreError ? secretStoreUnavailable(err) : err;
    });
    if (!held) {
      await this.claims.delete(row.id);
      throw notFound();
    }
    const setup = this.providers.setupOf(row.provider);
    let result: { connection: ConnectionEntity; created: boolean };
    try {
      result = await this.writer.connect({
        userId: row.userId,
        provider: row.provider,
        accountRef: row.accountRef,
        displayName: row.displayName,
        scopes: row.scopes,
        expiresAt: row.expiresAt,
        metadata: row.metadata,
        secret: held.reveal(),
        setupStatus: setup ? 'pending' : 'not_applicable',
        actor: input.actor,
        requestId: input.requestId,
      });
    } catch (err) {
      // Nothing was connected: the claim may be tried again (until it expires).
      await this.claims.release(row.id).catch(() => undefined);
      throw err;
    }
    await this.forget(row);
    if (setup) {
      try {
        await this.setup.enqueue(result.connection);
      } catch (err) {
        // The connection stands; setup stays `pending` and can be retried through the API.
        this.logger.error(
          { err, connectionId: result.connection.id },
          'setup could not be queued after a claim',
        );
      }
    }
    await this.recordClaim(input, 'success', {
      provider: row.provider,
      connectionId: result.connection.id,
    });
    return result;
  }

  /**
   * The worker's sweep: every claim nobody took before CLAIM_TTL_SECONDS ran out is revoked
   * upstream and destroyed. Safe with several workers (rows are taken with SKIP LOCKED). A claim
   * taken and left unfinished by a crashed taker is finished here: a refused or expired one is
   * revoked; a claimed one is only destroyed, since its grant may already be the connection's.
   */
  async sweep(): Promise<number> {
    let swept = 0;
    for (;;) {
      const now = this.clock.date();
      const rows = await this.claims.takeForSweep(
        now,
        new Date(now.getTime() - TAKEN_CLAIM_STALE_MS),
        SWEEP_BATCH,
      );
      for (const row of rows) {
        if (row.outcome === 'claimed') await this.forget(row);
        else await this.discard(row);
        await this.audit.record({
          actorType: 'system',
          actorId: 'claim-sweep',
          action: 'connection.claim_expired',
          outcome: 'success',
          provider: row.provider,
          details: { user_id: row.userId, outcome: row.outcome },
        });
      }
      swept += rows.length;
      if (rows.length < SWEEP_BATCH) return swept;
    }
  }

  /** Revokes the held grant upstream (best effort), then destroys it and the row. */
  private async discard(row: PendingClaimEntity): Promise<void> {
    const held = await this.secrets.read(row.secretPath).catch(() => null);
    if (held) await this.revokeUpstream(row.provider, held.reveal(), 'discard', row);
    await this.forget(row);
  }

  /** Destroys the held secret and the row. */
  private async forget(row: PendingClaimEntity): Promise<void> {
    await this.secrets.destroy(row.secretPath);
    await this.claims.delete(row.id);
  }

  /**
   * The driver's revoke, for a grant that never became a connection: it is given the connection
   * the claim would have made (not saved anywhere). A failure is logged, never thrown.
   */
  private async revokeUpstream(
    provider: Provider,
    secret: SecretData,
    when: 'hold' | 'discard',
    row?: PendingClaimEntity,
  ): Promise<void> {
    const connection = Object.assign(new ConnectionEntity(), {
      provider,
      userId: row?.userId,
      accountRef: row?.accountRef,
      scopes: row?.scopes ?? [],
      metadata: row?.metadata ?? {},
    });
    try {
      const report = await this.providers.get(provider).revoke(connection, secret, NO_SETUP);
      if (report.left.length > 0) {
        const left = report.left.map((l) => `${l.resource} (${l.reason})`);
        this.logger.warn({ provider, left, when }, 'could not revoke an unclaimed grant');
      }
    } catch (err) {
      const reason = providerFailureReason(err);
      this.logger.warn({ provider, reason, when }, 'could not revoke an unclaimed grant');
    }
  }

  private async recordClaim(
    input: ClaimInput,
    outcome: 'success' | 'failure',
    facts: {
      provider?: Provider;
      connectionId?: string;
      errorCode?: string;
      reason?: string;
      loginUserId?: string;
    },
  ): Promise<void> {
    await this.audit.record({
      ...input.actor,
      action: 'connection.claim',
      outcome,
      provider: facts.provider,
      connectionId: facts.connectionId,
      errorCode: facts.errorCode,
      requestId: input.requestId,
      details: {
        claimer: input.userId,
        ...(facts.reason ? { reason: facts.reason } : {}),
        ...(facts.loginUserId ? { login_user_id: facts.loginUserId } : {}),
      },
    });
  }
}

function notFound(): BrokerError {
  return new BrokerError('claim_not_found', 'No such claim, or it was used or has expired');
}
