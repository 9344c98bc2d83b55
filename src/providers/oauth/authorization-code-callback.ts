import { z } from 'zod';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../../audit/audit.service';
import { APP_CONFIG, type AppConfig } from '../../config/config';
import { type Provider } from '../../database/enums';
import { type HeldGrant, PendingClaims } from '../../lifecycle/pending-claims';
import { type ConsumedOAuthState, OAuthStateError, OAuthStateService } from './oauth-state.service';

/** What a provider's redirect carries; anything but a single string counts as absent. */
export interface CallbackQuery {
  state?: string;
  code?: string;
  error?: string;
}

/**
 * The provider's redirect query, as documented. Nothing in it fails validation (a callback always
 * redirects): fastify gives strings, or arrays for repeated parameters, which count as absent.
 */
const queryValue = z.union([z.string(), z.array(z.string())]).optional();
export const callbackQuerySchema = z.looseObject({
  state: queryValue.describe('The one-time state from the login URL'),
  code: queryValue.describe("The provider's authorization code"),
  error: queryValue.describe('Set by the provider when consent was refused (access_denied)'),
});

export function callbackQuery(query: Record<string, unknown>): CallbackQuery {
  const one = (value: unknown) => (typeof value === 'string' ? value : undefined);
  return { state: one(query.state), code: one(query.code), error: one(query.error) };
}

/**
 * A callback that cannot complete. `code` goes to the frontend as `?code=`; `reason` is for the
 * log and the audit row, never a secret.
 */
export class CallbackFailure<C extends string = string> extends Error {
  constructor(
    readonly code: C,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${reason}`, options);
    this.name = 'CallbackFailure';
  }
}

/**
 * The authorization code of a callback, or the failure the provider reported instead
 * (`error=access_denied` when the user declined; any other `error=` or no code: exchange_failed).
 */
export function grantedCode(upstream: string, query: CallbackQuery): string {
  if (query.error !== undefined) {
    const word = /^[a-z_]{1,64}$/.test(query.error) ? query.error : 'unrecognised';
    throw new CallbackFailure(
      word === 'access_denied' ? 'access_denied' : 'exchange_failed',
      `${upstream} error=${word}`,
    );
  }
  if (!query.code) throw new CallbackFailure('exchange_failed', 'no code in the callback');
  return query.code;
}

/** What a provider's exchange found out, for the connection its claim will make. */
export type CheckedGrant = Omit<HeldGrant, 'userId' | 'provider' | 'requestId'>;

/**
 * The part of an authorization-code callback (GCP, OVH) that does not depend on the provider:
 * consume the state, run the provider's exchange and checks, hold the grant as a pending claim
 * for the state's user (SPEC §5: finishing a consent screen does not prove who started the
 * login), and turn every outcome into a redirect to the frontend — `status=claim&claim=…`, or
 * `status=error&code=…`; never a thrown error, never a 500 page — with a log line and, once the
 * user is known, an audit row.
 */
@Injectable()
export class AuthorizationCodeCallback {
  private readonly logger = new Logger(AuthorizationCodeCallback.name);

  constructor(
    private readonly states: OAuthStateService,
    private readonly claims: PendingClaims,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async complete(input: {
    provider: Provider;
    query: CallbackQuery;
    requestId?: string;
    /** The user of the broker session the callback request carries, if any (SPEC §5, §9). */
    sessionUserId?: string;
    /**
     * Exchanges the code and checks the grant; throws CallbackFailure for a known outcome (after
     * revoking whatever it will not hand back).
     */
    exchange: (flow: ConsumedOAuthState) => Promise<CheckedGrant>;
    /** Outcomes the user caused (declined, unticked a scope): a warning, not an error. */
    userOutcomes: ReadonlySet<string>;
  }): Promise<string> {
    const { provider } = input;
    let flow: ConsumedOAuthState;
    try {
      flow = await this.states.consume(provider, input.query.state);
    } catch (err) {
      // Without a valid state nobody is known, so there is no redirect_to to trust either.
      if (err instanceof OAuthStateError) {
        this.logger.warn({ provider, code: err.code }, `${provider} callback refused: bad state`);
        return this.frontendUrl(provider, null, { status: 'error', code: err.code });
      }
      this.logger.error({ provider, err }, `${provider} callback failed while reading the state`);
      return this.frontendUrl(provider, null, { status: 'error', code: 'internal_error' });
    }
    try {
      const grant = await input.exchange(flow);
      const held = await this.claims
        .hold({ ...grant, userId: flow.userId, provider, requestId: input.requestId })
        .catch((err: unknown) => {
          // hold() revoked the grant upstream already.
          throw new CallbackFailure('internal_error', 'the grant could not be held', {
            cause: err,
          });
        });
      await this.audit.record({
        actorType: 'user',
        actorId: flow.userId,
        action: 'connection.claim_pending',
        outcome: 'success',
        provider,
        requestId: input.requestId,
        details: { claim_expires_at: held.claimExpiresAt.toISOString() },
      });
      if (input.sessionUserId === flow.userId) {
        const connectionId = await this.claimAtOnce(held.claim, flow.userId, input.requestId);
        if (connectionId !== undefined) {
          return this.frontendUrl(provider, flow.redirectTo, {
            status: 'connected',
            connection_id: connectionId,
          });
        }
      }
      return this.frontendUrl(provider, flow.redirectTo, { status: 'claim', claim: held.claim });
    } catch (err) {
      const failure: CallbackFailure<string> =
        err instanceof CallbackFailure
          ? (err as CallbackFailure<string>)
          : new CallbackFailure('internal_error', 'unexpected');
      const fields = {
        provider,
        code: failure.code,
        reason: failure.reason,
        err: err === failure ? failure.cause : err,
      };
      if (input.userOutcomes.has(failure.code)) {
        this.logger.warn(fields, `${provider} connect declined`);
      } else {
        this.logger.error(fields, `${provider} connect failed`);
      }
      await this.audit.record({
        actorType: 'user',
        actorId: flow.userId,
        action: 'connection.connect',
        outcome: 'failure',
        provider,
        errorCode: failure.code,
        requestId: input.requestId,
        details: { reason: failure.reason },
      });
      return this.frontendUrl(provider, flow.redirectTo, { status: 'error', code: failure.code });
    }
  }

  /**
   * The browser that finished the consent carries the session of the user who started the login,
   * so it is that user claiming: the connection is made at once. Should that fail (a dependency
   * down), the claim is still held and the frontend is sent the code to claim it later.
   */
  private async claimAtOnce(
    claim: string,
    userId: string,
    requestId: string | undefined,
  ): Promise<string | undefined> {
    try {
      const { connection } = await this.claims.claim({
        claim,
        userId,
        actor: { actorType: 'user', actorId: userId },
        requestId,
      });
      return connection.id;
    } catch (err) {
      this.logger.warn({ err }, 'claiming through the session failed; the claim stays held');
      return undefined;
    }
  }

  private frontendUrl(
    provider: Provider,
    target: string | null,
    params: Record<string, string>,
  ): string {
    const url = new URL(target ?? this.config.frontendUrl);
    url.searchParams.set('provider', provider);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return url.toString();
  }
}
