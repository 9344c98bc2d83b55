import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../../audit/audit.service';
import { APP_CONFIG, type AppConfig, type OvhRegion } from '../../config/config';
import { ConnectionWriter } from '../../connections/connection-writer';
import {
  type ConsumedOAuthState,
  OAuthStateError,
  OAuthStateService,
} from '../oauth/oauth-state.service';
import { OvhApiError, OvhClient, type OvhTokens } from './ovh-client';
import { ovhSecret } from './ovh-token-set';
import { ovhStateContext } from './ovh.schemas';

/** The `code=` values of an error redirect (documented in docs/providers/ovh.md). */
export type OvhCallbackErrorCode =
  | 'access_denied'
  | 'invalid_state'
  | 'state_expired'
  | 'exchange_failed'
  | 'missing_refresh_token'
  | 'provider_disabled'
  | 'internal_error';

export interface OvhCallbackQuery {
  state?: string;
  code?: string;
  error?: string;
}

class CallbackFailure extends Error {
  constructor(
    readonly code: OvhCallbackErrorCode,
    readonly reason: string,
  ) {
    super(`${code}: ${reason}`);
    this.name = 'CallbackFailure';
  }
}

/**
 * The OVHcloud connect flow (SPEC §5 OVHcloud): POST /ovh/login makes a one-time state bound to a
 * region, GET /ovh/callback exchanges the code (PKCE), reads the nichandle and stores the
 * connection. The callback never throws: every outcome is a redirect to the frontend.
 */
@Injectable()
export class OvhConnectService {
  private readonly logger = new Logger(OvhConnectService.name);

  constructor(
    private readonly states: OAuthStateService,
    private readonly ovh: OvhClient,
    private readonly writer: ConnectionWriter,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async startLogin(
    userId: string,
    region: OvhRegion,
    redirectTo: string | undefined,
  ): Promise<{ login_url: string; state_expires_at: string }> {
    this.ovh.region(region); // provider_disabled before any state is made
    const target = this.states.resolveRedirect(redirectTo);
    const { state, codeChallenge, expiresAt } = await this.states.create({
      provider: 'ovh',
      userId,
      redirectTo: target,
      context: { region },
    });
    return {
      login_url: this.ovh.authorizeUrl(region, state, codeChallenge),
      state_expires_at: expiresAt.toISOString(),
    };
  }

  async completeLogin(query: OvhCallbackQuery, requestId?: string): Promise<string> {
    let flow: ConsumedOAuthState;
    try {
      flow = await this.states.consume('ovh', query.state);
    } catch (err) {
      if (err instanceof OAuthStateError) {
        this.logger.warn({ code: err.code }, 'ovh callback refused: bad state');
        return this.frontendUrl(null, { status: 'error', code: err.code });
      }
      this.logger.error({ err }, 'ovh callback failed while reading the state');
      return this.frontendUrl(null, { status: 'error', code: 'internal_error' });
    }
    try {
      const connectionId = await this.connect(flow, query, requestId);
      return this.frontendUrl(flow.redirectTo, {
        status: 'connected',
        connection_id: connectionId,
      });
    } catch (err) {
      const failure =
        err instanceof CallbackFailure ? err : new CallbackFailure('internal_error', 'unexpected');
      const log = failure.code === 'access_denied' ? 'warn' : 'error';
      this.logger[log](
        { code: failure.code, reason: failure.reason, err: err === failure ? undefined : err },
        'ovh connect failed',
      );
      await this.audit.record({
        actorType: 'user',
        actorId: flow.userId,
        action: 'connection.connect',
        outcome: 'failure',
        provider: 'ovh',
        errorCode: failure.code,
        requestId,
        details: { reason: failure.reason },
      });
      return this.frontendUrl(flow.redirectTo, { status: 'error', code: failure.code });
    }
  }

  private async connect(
    flow: ConsumedOAuthState,
    query: OvhCallbackQuery,
    requestId: string | undefined,
  ): Promise<string> {
    const context = ovhStateContext.safeParse(flow.context);
    if (!context.success) throw new CallbackFailure('invalid_state', 'state without a region');
    const region = context.data.region;
    if (!this.config.ovh.regions[region].enabled) {
      throw new CallbackFailure('provider_disabled', `region ${region} was disabled`);
    }
    if (query.error !== undefined) {
      const word = /^[a-z_]{1,64}$/.test(query.error) ? query.error : 'unrecognised';
      throw new CallbackFailure(
        word === 'access_denied' ? 'access_denied' : 'exchange_failed',
        `ovh error=${word}`,
      );
    }
    if (!query.code) throw new CallbackFailure('exchange_failed', 'no code in the callback');

    let tokens: OvhTokens;
    let nichandle: string;
    try {
      tokens = await this.ovh.exchangeCode(region, query.code, flow.codeVerifier);
      nichandle = await this.ovh.nichandle(region, tokens.accessToken);
    } catch (err) {
      throw new CallbackFailure(
        'exchange_failed',
        err instanceof OvhApiError ? err.message : 'unexpected error',
      );
    }
    if (!tokens.refreshToken) {
      throw new CallbackFailure('missing_refresh_token', 'ovh sent no refresh token');
    }
    const { connection } = await this.writer.connect({
      userId: flow.userId,
      provider: 'ovh',
      accountRef: nichandle,
      displayName: nichandle,
      scopes: tokens.scope.split(/\s+/).filter(Boolean),
      expiresAt: tokens.expiresAt,
      metadata: { region, nichandle },
      secret: ovhSecret(region, tokens, tokens.refreshToken),
      setupStatus: 'not_applicable',
      actor: { kind: 'user', userId: flow.userId },
      requestId,
    });
    return connection.id;
  }

  private frontendUrl(target: string | null, params: Record<string, string>): string {
    const url = new URL(target ?? this.config.frontendUrl);
    url.searchParams.set('provider', 'ovh');
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return url.toString();
  }
}
