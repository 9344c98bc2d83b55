import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { isAllowed } from '../auth/allow-list';
import { type Caller, type SessionIdentity } from '../auth/caller';
import { SessionStore } from '../auth/sessions';
import { clearSessionCookie, setSessionCookie } from '../auth/session-cookie';
import { BrokerError } from '../common/error-codes';
import { brokerOrigins, redirectTarget } from '../common/redirect-target';
import { APP_CONFIG, type AppConfig, type LoginProviderKind } from '../config/config';
import { type LoginProvider, SignInFailure, createLoginProvider } from './login-providers';
import { LoginStateError, LoginStates } from './login-states';

/** Who `/auth/me` and `/auth/status` say is calling. */
export interface CallerView {
  id: string;
  email: string | null;
  name: string | null;
  username: string | null;
  /** `github`, `entra`, `oidc` for a session; `jwt` or `api_key` for a bearer. */
  provider: string;
}

export type CallbackOutcome =
  | { kind: 'signed_in'; location: string; setCookie: string }
  | { kind: 'failed'; location: string }
  | { kind: 'not_allowed'; identity: SessionIdentity };

/**
 * Sign-in for people (SPEC §9), a login proxy built in: `/auth/login` sends the browser to the
 * identity provider with a one-time state, PKCE and (OIDC) a nonce; `/auth/callback` exchanges
 * the code, checks the allow-list and starts a Redis session. The protocol work is openid-client's;
 * what is ours is the policy around it: who may sign in, where the browser may be sent back to.
 */
@Injectable()
export class SignInService {
  private readonly logger = new Logger(SignInService.name);
  private readonly providers = new Map<LoginProviderKind, LoginProvider>();
  private readonly redirectUri: string;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly states: LoginStates,
    // Null only while sign-in is off, when nothing here reaches it.
    @Inject(SessionStore) private readonly sessions: SessionStore | null,
    private readonly audit: AuditService,
  ) {
    for (const settings of config.login.providers) {
      this.providers.set(settings.kind, createLoginProvider(settings));
    }
    this.redirectUri = `${config.publicUrl}/auth/callback`;
  }

  get enabled(): boolean {
    return this.config.login.enabled;
  }

  providerKinds(): LoginProviderKind[] {
    return [...this.providers.keys()];
  }

  /** The identity provider's authorize URL for a new one-time state. */
  async start(kind: string, redirectTo: string | undefined): Promise<string> {
    this.assertEnabled();
    const provider = this.providers.get(kind as LoginProviderKind);
    if (provider === undefined) {
      throw new BrokerError(
        'validation_failed',
        `provider must be one of ${this.providerKinds().join(', ')}`,
        {
          errors: [
            { path: 'provider', message: `must be one of ${this.providerKinds().join(', ')}` },
          ],
        },
      );
    }
    const target = redirectTarget(redirectTo ?? this.config.frontendUrl, {
      base: this.config.publicUrl,
      allowedOrigins: brokerOrigins(this.config),
      field: 'redirect_to',
    });
    const { state, codeVerifier, nonce } = await this.states.create(provider.kind, target);
    try {
      const url = await provider.authorizationUrl({
        redirectUri: this.redirectUri,
        state,
        codeVerifier,
        nonce,
      });
      return url.toString();
    } catch (err) {
      if (!(err instanceof SignInFailure)) throw err;
      this.logger.error(
        { provider: kind, reason: err.reason, err: err.cause },
        'sign-in: start failed',
      );
      return this.errorUrl(err.code);
    }
  }

  /**
   * The identity provider's redirect. Never throws for what the provider or the browser did:
   * every outcome is a redirect (or the not-allowed page), with a log line saying why.
   */
  async complete(rawQuery: string, requestId: string | undefined): Promise<CallbackOutcome> {
    this.assertEnabled();
    const query = new URLSearchParams(rawQuery);
    const states = query.getAll('state');
    let flow;
    try {
      flow = await this.states.consume(states.length === 1 ? states[0] : undefined);
    } catch (err) {
      if (!(err instanceof LoginStateError)) throw err;
      this.logger.warn({ code: err.code }, 'sign-in refused: bad state');
      return { kind: 'failed', location: this.errorUrl(err.code) };
    }
    const provider = this.providers.get(flow.provider);
    if (provider === undefined) return { kind: 'failed', location: this.errorUrl('invalid_state') };
    let identity: SessionIdentity;
    try {
      const callbackUrl = new URL(this.redirectUri);
      callbackUrl.search = query.toString();
      identity = await provider.identify({
        callbackUrl,
        state: states[0],
        codeVerifier: flow.codeVerifier,
        nonce: flow.nonce,
      });
    } catch (err) {
      const failure =
        err instanceof SignInFailure
          ? err
          : new SignInFailure('exchange_failed', 'unexpected', { cause: err });
      const fields = { provider: flow.provider, code: failure.code, reason: failure.reason };
      if (failure.code === 'access_denied') this.logger.warn(fields, 'sign-in declined');
      else this.logger.error({ ...fields, err: failure.cause }, 'sign-in failed');
      await this.record(null, 'failure', flow.provider, failure.code, requestId);
      return { kind: 'failed', location: this.errorUrl(failure.code) };
    }
    if (!isAllowed(identity, this.config.login)) {
      this.logger.warn(
        { provider: flow.provider, user: identity.id },
        'sign-in refused: not allowed',
      );
      await this.record(identity.id, 'failure', flow.provider, 'login_not_allowed', requestId);
      return { kind: 'not_allowed', identity };
    }
    if (this.sessions === null) throw new Error('sign-in is on but no session store was made');
    const { id } = await this.sessions.create(identity);
    await this.record(identity.id, 'success', flow.provider, null, requestId);
    this.logger.log({ provider: flow.provider, user: identity.id }, 'signed in');
    return {
      kind: 'signed_in',
      location: flow.redirectTo,
      setCookie: setSessionCookie(id, this.config.login),
    };
  }

  /** Ends the session of `sessionId` (if any); the Set-Cookie that clears the cookie. */
  async logout(sessionId: string | undefined): Promise<string> {
    if (sessionId !== undefined) await this.sessions?.destroy(sessionId);
    return clearSessionCookie(this.config.login);
  }

  private assertEnabled(): void {
    if (!this.enabled) {
      throw new BrokerError(
        'login_disabled',
        'sign-in is off on this broker (LOGIN_PROVIDERS is not set)',
      );
    }
  }

  /** Sign-in errors land on the connect page, which says what happened in words. */
  private errorUrl(code: string): string {
    const url = new URL(`${this.config.publicUrl}/connect`);
    url.searchParams.set('login', 'error');
    url.searchParams.set('code', code);
    return url.toString();
  }

  private record(
    userId: string | null,
    outcome: 'success' | 'failure',
    provider: LoginProviderKind,
    errorCode: string | null,
    requestId: string | undefined,
  ): Promise<void> {
    return this.audit.record({
      actorType: 'user',
      actorId: userId,
      action: 'auth.sign_in',
      outcome,
      errorCode,
      requestId,
      details: { login_provider: provider },
    });
  }
}

/** The caller as `/auth/me` shows it. */
export function callerView(caller: Caller): CallerView {
  switch (caller.kind) {
    case 'user':
      return caller.session
        ? {
            id: caller.session.id,
            email: caller.session.email,
            name: caller.session.name,
            username: caller.session.username,
            provider: caller.session.provider,
          }
        : { id: caller.userId, email: null, name: null, username: null, provider: 'jwt' };
    case 'api_key':
      return {
        id: caller.onBehalfOf ?? `api_key:${caller.keyId}`,
        email: null,
        name: caller.keyName,
        username: null,
        provider: 'api_key',
      };
    case 'admin_basic':
      return {
        id: `admin:${caller.user}`,
        email: null,
        name: null,
        username: caller.user,
        provider: 'admin',
      };
  }
}
