import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig, type OvhRegion } from '../../config/config';
import {
  AuthorizationCodeCallback,
  CallbackFailure,
  type CallbackQuery,
  type CheckedGrant,
  grantedCode,
} from '../oauth/authorization-code-callback';
import { type ConsumedOAuthState, OAuthStateService } from '../oauth/oauth-state.service';
import { OvhApiError, OvhClient, type OvhTokens } from './ovh-client';
import { ovhSecret } from './ovh-token-set';
import { ovhStateContext } from './ovh.schemas';

/** The `code=` values of an error redirect (documented in docs/providers/ovh.md). */
export const OVH_CALLBACK_ERROR_CODES = [
  'access_denied',
  'invalid_state',
  'state_expired',
  'exchange_failed',
  'missing_refresh_token',
  'provider_disabled',
  'internal_error',
] as const;
export type OvhCallbackErrorCode = (typeof OVH_CALLBACK_ERROR_CODES)[number];

/** Outcomes the user caused: a warning, not an error. */
const USER_OUTCOMES: ReadonlySet<string> = new Set<OvhCallbackErrorCode>(['access_denied']);

/**
 * The OVHcloud connect flow (SPEC §5 OVHcloud): POST /ovh/login makes a one-time state bound to a
 * region, GET /ovh/callback exchanges the code (PKCE), reads the nichandle and holds the
 * grant for the state's user (a pending claim, made a connection by POST /connections/claim). The callback never throws: every outcome is a redirect to the frontend.
 */
@Injectable()
export class OvhConnectService {
  constructor(
    private readonly states: OAuthStateService,
    private readonly ovh: OvhClient,
    private readonly callback: AuthorizationCodeCallback,
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

  /** OVH's redirect → the frontend URL to send the browser to. */
  completeLogin(query: CallbackQuery, requestId?: string, sessionUserId?: string): Promise<string> {
    return this.callback.complete({
      provider: 'ovh',
      query,
      requestId,
      sessionUserId,
      exchange: (flow) => this.exchange(flow, query),
      userOutcomes: USER_OUTCOMES,
    });
  }

  private async exchange(flow: ConsumedOAuthState, query: CallbackQuery): Promise<CheckedGrant> {
    const context = ovhStateContext.safeParse(flow.context);
    if (!context.success)
      throw new CallbackFailure<OvhCallbackErrorCode>('invalid_state', 'state without a region');
    const region = context.data.region;
    if (!this.config.ovh.regions[region].enabled) {
      throw new CallbackFailure<OvhCallbackErrorCode>(
        'provider_disabled',
        `region ${region} was disabled`,
      );
    }
    const code = grantedCode('ovh', query);

    let tokens: OvhTokens;
    let nichandle: string;
    try {
      tokens = await this.ovh.exchangeCode(region, code, flow.codeVerifier);
      nichandle = await this.ovh.nichandle(region, tokens.accessToken);
    } catch (err) {
      throw new CallbackFailure<OvhCallbackErrorCode>(
        'exchange_failed',
        err instanceof OvhApiError ? err.message : 'unexpected error',
      );
    }
    if (!tokens.refreshToken) {
      throw new CallbackFailure<OvhCallbackErrorCode>(
        'missing_refresh_token',
        'ovh sent no refresh token',
      );
    }
    return {
      accountRef: nichandle,
      displayName: nichandle,
      scopes: tokens.scope.split(/\s+/).filter(Boolean),
      expiresAt: tokens.expiresAt,
      metadata: { region, nichandle },
      secret: ovhSecret(region, tokens, tokens.refreshToken),
    };
  }
}
