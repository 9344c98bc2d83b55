import { Inject, Injectable, Logger } from '@nestjs/common';
import { type Caller, requireActingUser } from '../../auth/caller';
import { BrokerError } from '../../common/error-codes';
import { APP_CONFIG, type AppConfig } from '../../config/config';
import {
  AuthorizationCodeCallback,
  CallbackFailure,
  type CallbackQuery,
  type CheckedGrant,
  grantedCode,
} from '../oauth/authorization-code-callback';
import { type ConsumedOAuthState, OAuthStateService } from '../oauth/oauth-state.service';
import { ProviderError } from '../provider';
import { GcpOAuthClient, type GoogleTokens } from './gcp-oauth.client';
import { CLOUD_PLATFORM_SCOPE, gcpTokenGrant, requestedScopes } from './gcp-token-set';

/** The `code=` values of an error redirect (documented in docs/providers/gcp.md). */
export const GCP_CALLBACK_ERROR_CODES = [
  'access_denied',
  'invalid_state',
  'state_expired',
  'exchange_failed',
  'insufficient_scope',
  'missing_refresh_token',
  'internal_error',
] as const;
export type GcpCallbackErrorCode = (typeof GCP_CALLBACK_ERROR_CODES)[number];

/** Outcomes the user caused (declined, unticked a scope): worth a warning, not an error. */
const USER_OUTCOMES = new Set<GcpCallbackErrorCode>([
  'access_denied',
  'insufficient_scope',
  'missing_refresh_token',
]);

/**
 * The GCP connect flow (SPEC §5 GCP): POST /gcp/login makes a one-time state and the consent
 * URL; GET /gcp/callback turns Google's redirect into a checked grant held for the state's user
 * (a pending claim; POST /connections/claim makes the connection and queues setup) and a
 * redirect to the frontend. The callback never throws: every outcome is a URL.
 */
@Injectable()
export class GcpConnectService {
  private readonly logger = new Logger(GcpConnectService.name);

  constructor(
    private readonly states: OAuthStateService,
    private readonly callback: AuthorizationCodeCallback,
    private readonly google: GcpOAuthClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  assertEnabled(): void {
    if (!this.config.gcp.enabled) {
      throw new BrokerError('provider_disabled', 'The gcp provider is not enabled on this broker');
    }
  }

  async startLogin(
    caller: Caller,
    redirectTo: string | undefined,
  ): Promise<{ login_url: string; state_expires_at: string }> {
    this.assertEnabled();
    const userId = requireActingUser(caller);
    const target = this.states.resolveRedirect(redirectTo);
    const { state, codeChallenge, expiresAt } = await this.states.create({
      provider: 'gcp',
      userId,
      redirectTo: target,
    });
    const login_url = this.google.authorizeUrl({
      state,
      codeChallenge,
      scopes: requestedScopes(this.config.gcp.extraScopes),
    });
    return { login_url, state_expires_at: expiresAt.toISOString() };
  }

  /** Google's redirect → the frontend URL to send the browser to. */
  completeLogin(query: CallbackQuery, requestId?: string, sessionUserId?: string): Promise<string> {
    return this.callback.complete({
      provider: 'gcp',
      query,
      requestId,
      sessionUserId,
      exchange: (flow) => this.exchange(flow, query),
      userOutcomes: USER_OUTCOMES,
    });
  }

  private async exchange(flow: ConsumedOAuthState, query: CallbackQuery): Promise<CheckedGrant> {
    const code = grantedCode('google', query);

    const tokens = await this.google.exchangeCode(code, flow.codeVerifier).catch((err: unknown) => {
      throw new CallbackFailure<GcpCallbackErrorCode>('exchange_failed', describe(err));
    });
    // From here on a live grant exists: every way out that does not store it revokes it, so no
    // token the broker dropped stays usable at Google.
    if (!tokens.scopes?.includes(CLOUD_PLATFORM_SCOPE)) {
      await this.discard(tokens);
      throw new CallbackFailure<GcpCallbackErrorCode>(
        'insufficient_scope',
        'cloud-platform was not granted',
      );
    }
    const refreshToken = tokens.refreshToken;
    if (refreshToken === undefined) {
      await this.discard(tokens);
      throw new CallbackFailure<GcpCallbackErrorCode>(
        'missing_refresh_token',
        'google sent no refresh token',
      );
    }
    const user = await this.google.userinfo(tokens.accessToken).catch(async (err: unknown) => {
      await this.discard(tokens);
      throw new CallbackFailure<GcpCallbackErrorCode>(
        'exchange_failed',
        `userinfo: ${describe(err)}`,
      );
    });

    const grant = gcpTokenGrant(tokens, refreshToken);
    return {
      accountRef: user.email,
      displayName: user.email,
      scopes: grant.scopes,
      expiresAt: grant.expiresAt,
      metadata: { email: user.email },
      secret: grant.secret,
    };
  }

  /** Best effort: a failure here is logged and changes nothing for the user. */
  private async discard(tokens: GoogleTokens): Promise<void> {
    try {
      await this.google.revoke(tokens.refreshToken ?? tokens.accessToken);
    } catch (err) {
      this.logger.warn({ reason: describe(err) }, 'could not revoke a discarded google grant');
    }
  }
}

function describe(err: unknown): string {
  if (err instanceof ProviderError) {
    return err.status === undefined ? err.reason : `${err.reason} (HTTP ${err.status})`;
  }
  return 'unexpected error';
}
