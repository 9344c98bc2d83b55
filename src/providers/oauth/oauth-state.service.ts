import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '../../common/clock';
import { brokerOrigins, redirectTarget } from '../../common/redirect-target';
import { seal, unseal } from '../../common/sealed-by-state';
import { APP_CONFIG, type AppConfig } from '../../config/config';
import { type Provider } from '../../database/enums';
import { OAuthStatesRepository } from '../../database/repositories/oauth-states.repository';

export interface NewOAuthState {
  /** Goes into the authorize URL; exists nowhere else. */
  state: string;
  codeChallenge: string;
  expiresAt: Date;
}

export interface ConsumedOAuthState {
  userId: string;
  codeVerifier: string;
  redirectTo: string | null;
  context: Record<string, unknown>;
}

/** Why a callback's state was refused; each is a `code=` on the redirect to the frontend. */
export class OAuthStateError extends Error {
  constructor(readonly code: 'invalid_state' | 'state_expired') {
    super(code === 'invalid_state' ? 'unknown, replayed or foreign state' : 'state expired');
    this.name = 'OAuthStateError';
  }
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
const b64url = (buf: Buffer) => buf.toString('base64url');
const STATE_FORMAT = /^[A-Za-z0-9_-]{43}$/;

/**
 * One-time OAuth states (SPEC §5): 32 random bytes, stored as a SHA-256 with the user id, the
 * PKCE verifier, the redirect target and an expiry; consumed atomically; bound to one provider.
 *
 * The verifier is sealed with a key derived from the state itself, so a leaked `oauth_states`
 * table holds nothing usable: only the browser that carries the state can unseal it.
 */
@Injectable()
export class OAuthStateService {
  constructor(
    private readonly states: OAuthStatesRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  async create(input: {
    provider: Provider;
    userId: string;
    redirectTo: string | null;
    context?: Record<string, unknown>;
  }): Promise<NewOAuthState> {
    const state = b64url(randomBytes(32));
    const codeVerifier = b64url(randomBytes(32));
    const expiresAt = new Date(this.clock.now() + this.config.lifecycle.stateTtlSeconds * 1000);
    await this.states.insert({
      stateHash: sha256(state),
      provider: input.provider,
      userId: input.userId,
      codeVerifierSealed: seal(state, codeVerifier),
      redirectTo: input.redirectTo,
      context: input.context ?? {},
      expiresAt,
    });
    const codeChallenge = b64url(createHash('sha256').update(codeVerifier).digest());
    return { state, codeChallenge, expiresAt };
  }

  /** Consumes `state` for `provider`. A missing, unknown, replayed or foreign state is refused. */
  async consume(provider: Provider, state: string | undefined): Promise<ConsumedOAuthState> {
    if (state === undefined || !STATE_FORMAT.test(state))
      throw new OAuthStateError('invalid_state');
    const row = await this.states.consume(sha256(state));
    if (!row || row.provider !== provider) throw new OAuthStateError('invalid_state');
    if (row.expiresAt.getTime() <= this.clock.now()) throw new OAuthStateError('state_expired');
    return {
      userId: row.userId,
      codeVerifier: unseal(state, row.codeVerifierSealed),
      redirectTo: row.redirectTo,
      context: row.context,
    };
  }

  /**
   * `redirect_to` must stay on the frontend's or the broker's own origin (the connect page lives
   * on the latter), or the callback would be an open redirect. A path is taken relative to
   * FRONTEND_URL. Returns the absolute URL to keep, or null for "use FRONTEND_URL".
   */
  resolveRedirect(redirectTo: string | undefined): string | null {
    if (redirectTo === undefined) return null;
    return redirectTarget(redirectTo, {
      base: this.config.frontendUrl,
      allowedOrigins: brokerOrigins(this.config),
      field: 'redirect_to',
    });
  }
}
