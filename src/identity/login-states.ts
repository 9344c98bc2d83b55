import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { seal, unseal } from '../common/sealed-by-state';
import { APP_CONFIG, type AppConfig, type LoginProviderKind } from '../config/config';
import { RedisService } from '../redis/redis.module';

/** What a sign-in needs back at the callback. */
export interface LoginFlow {
  provider: LoginProviderKind;
  codeVerifier: string;
  nonce: string;
  redirectTo: string;
}

export interface NewLoginState {
  state: string;
  codeVerifier: string;
  nonce: string;
}

/** Why a sign-in callback's state was refused; each is a `code=` on the redirect. */
export class LoginStateError extends Error {
  constructor(readonly code: 'invalid_state' | 'state_expired') {
    super(code === 'invalid_state' ? 'unknown, replayed or missing state' : 'state expired');
    this.name = 'LoginStateError';
  }
}

interface StoredLoginState {
  provider: LoginProviderKind;
  verifierSealed: string;
  nonce: string;
  redirectTo: string;
  expiresAt: number;
}

const STATE_FORMAT = /^[A-Za-z0-9_-]{43}$/;
/** An expired state is kept this much longer, to answer "expired" rather than "unknown". */
const EXPIRED_GRACE_SECONDS = 3600;
const SEAL_PURPOSE = 'cbk sign-in verifier';

/**
 * One-time sign-in states (SPEC §9, as §5): 32 random bytes; Redis keeps only their SHA-256 with
 * the provider, the PKCE verifier (sealed by the state), the OIDC nonce and the redirect target;
 * taken with GETDEL, so a state works once on any replica. No user exists yet at this point,
 * which is why these live in Redis and not beside the connect flows' `oauth_states` rows.
 */
@Injectable()
export class LoginStates {
  constructor(
    private readonly redis: RedisService,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async create(provider: LoginProviderKind, redirectTo: string): Promise<NewLoginState> {
    const state = randomBytes(32).toString('base64url');
    const codeVerifier = randomBytes(32).toString('base64url');
    const nonce = randomBytes(16).toString('base64url');
    const ttl = this.config.lifecycle.stateTtlSeconds;
    const stored: StoredLoginState = {
      provider,
      verifierSealed: seal(state, codeVerifier, SEAL_PURPOSE),
      nonce,
      redirectTo,
      expiresAt: this.clock.now() + ttl * 1000,
    };
    await this.redis.client.set(
      this.key(state),
      JSON.stringify(stored),
      'EX',
      ttl + EXPIRED_GRACE_SECONDS,
    );
    return { state, codeVerifier, nonce };
  }

  /** Takes `state` for good. A missing, unknown, replayed or expired state is refused. */
  async consume(state: string | undefined): Promise<LoginFlow> {
    if (state === undefined || !STATE_FORMAT.test(state))
      throw new LoginStateError('invalid_state');
    const raw = await this.redis.client.getdel(this.key(state));
    if (raw === null) throw new LoginStateError('invalid_state');
    const stored = JSON.parse(raw) as StoredLoginState;
    if (stored.expiresAt <= this.clock.now()) throw new LoginStateError('state_expired');
    return {
      provider: stored.provider,
      codeVerifier: unseal(state, stored.verifierSealed, SEAL_PURPOSE),
      nonce: stored.nonce,
      redirectTo: stored.redirectTo,
    };
  }

  private key(state: string): string {
    return `login-state:${createHash('sha256').update(state).digest('hex')}`;
  }
}
