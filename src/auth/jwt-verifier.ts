import {
  type FlattenedJWSInput,
  type JWTHeaderParameters,
  type JWTVerifyGetKey,
  createRemoteJWKSet,
  decodeProtectedHeader,
  jwtVerify,
} from 'jose';
import { BrokerError } from '../common/error-codes';
import { VerifiedTokenCache } from './verified-token-cache';

export interface JwtVerifierOptions {
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
  jwtSecret?: string;
  /** Seconds of clock skew tolerated on `exp`/`nbf`. */
  clockToleranceSeconds?: number;
  /** Minimum time between two JWKS fetches, even for an unknown `kid` (jose's cooldown). */
  jwksCooldownMs?: number;
  /** How long fetched keys are trusted before a refetch. */
  jwksCacheMaxAgeMs?: number;
  jwksTimeoutMs?: number;
  /** Verified tokens remembered (by hash) until their `exp`; 0 turns the cache off. */
  verifiedCacheEntries?: number;
  /** Longest a verified token is trusted without verifying it again. */
  verifiedCacheMaxAgeMs?: number;
}

export interface VerifiedUser {
  userId: string;
}

type JwksAlg = 'RS256' | 'ES256';
const JWKS_ALGS: readonly string[] = ['RS256', 'ES256'] satisfies JwksAlg[];
const MAX_SUBJECT_LENGTH = 256;

/** The JWKS endpoint could not be read: our problem (or the IdP's), not a bad token. */
class KeySetUnavailable extends Error {}

function joseCode(err: unknown): string | undefined {
  if (!(err instanceof Error) || !('code' in err)) return undefined;
  return typeof err.code === 'string' ? err.code : undefined;
}

function claimName(err: unknown): string | undefined {
  if (!(err instanceof Error) || !('claim' in err)) return undefined;
  return typeof err.claim === 'string' ? err.claim : undefined;
}

/** A short reason for the 401: never any part of the token. */
function reasonFor(err: unknown): string {
  switch (joseCode(err)) {
    case 'ERR_JWT_EXPIRED':
      return 'token expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const claim = claimName(err);
      return claim && /^[a-z]{1,16}$/.test(claim)
        ? `token claim "${claim}" is missing or not accepted`
        : 'token claims not accepted';
    }
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'token signature is not valid';
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'no signing key matches the token';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return 'token algorithm not accepted';
    default:
      return 'token is not valid';
  }
}

/**
 * Verifies user JWTs: RS256/ES256 against a remote JWKS (keys cached by jose, refetched on an
 * unknown `kid` after a cooldown), HS256 against a shared secret. When both are configured the
 * header's `alg` picks the key source, so an HS256 token is never checked with a public key.
 */
export class JwtVerifier {
  private readonly jwks?: ReturnType<typeof createRemoteJWKSet>;
  private readonly secret?: Uint8Array;
  private readonly clockTolerance: number;
  private readonly verified?: VerifiedTokenCache<VerifiedUser>;

  constructor(private readonly options: JwtVerifierOptions) {
    const entries = options.verifiedCacheEntries ?? 10_000;
    if (entries > 0) {
      this.verified = new VerifiedTokenCache(entries, options.verifiedCacheMaxAgeMs ?? 60_000);
    }
    if (options.jwksUrl !== undefined) {
      this.jwks = createRemoteJWKSet(new URL(options.jwksUrl), {
        cooldownDuration: options.jwksCooldownMs ?? 30_000,
        cacheMaxAge: options.jwksCacheMaxAgeMs ?? 10 * 60_000,
        timeoutDuration: options.jwksTimeoutMs ?? 5_000,
      });
    }
    if (options.jwtSecret !== undefined) this.secret = new TextEncoder().encode(options.jwtSecret);
    this.clockTolerance = options.clockToleranceSeconds ?? 5;
  }

  /** The user of a token this verifier has verified and may still serve from its cache. */
  cached(token: string): VerifiedUser | undefined {
    return this.verified?.get(VerifiedTokenCache.keyOf(token));
  }

  async verify(token: string): Promise<VerifiedUser> {
    const cacheKey = this.verified ? VerifiedTokenCache.keyOf(token) : undefined;
    const known = cacheKey === undefined ? undefined : this.verified?.get(cacheKey);
    if (known) return known;
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw new BrokerError('unauthenticated', 'token is not a JWT');
    }
    const key = this.keyFor(alg);
    let subject: unknown;
    let exp: number | undefined;
    try {
      const options = {
        algorithms: [key.alg],
        issuer: this.options.issuer,
        audience: this.options.audience,
        clockTolerance: this.clockTolerance,
        requiredClaims: ['exp', 'sub'],
      };
      const { payload } =
        typeof key.source === 'function'
          ? await jwtVerify(token, key.source, options)
          : await jwtVerify(token, key.source, options);
      subject = payload.sub;
      exp = payload.exp;
    } catch (err) {
      if (err instanceof KeySetUnavailable) {
        throw new BrokerError('service_unavailable', 'the signing keys could not be fetched', {
          cause: err.cause,
        });
      }
      throw new BrokerError('unauthenticated', reasonFor(err));
    }
    if (
      typeof subject !== 'string' ||
      subject.length === 0 ||
      subject.length > MAX_SUBJECT_LENGTH
    ) {
      throw new BrokerError('unauthenticated', 'token subject is missing or too long');
    }
    const user = { userId: subject };
    if (cacheKey !== undefined && typeof exp === 'number') this.verified?.set(cacheKey, user, exp);
    return user;
  }

  private keyFor(alg: string | undefined): { alg: string; source: Uint8Array | JWTVerifyGetKey } {
    if (alg === 'HS256' && this.secret !== undefined) return { alg, source: this.secret };
    if (alg !== undefined && JWKS_ALGS.includes(alg) && this.jwks !== undefined) {
      return { alg, source: this.remoteKey };
    }
    throw new BrokerError('unauthenticated', 'token algorithm not accepted');
  }

  /** jose's JWKS getter, with fetch failures told apart from "no such key". */
  private readonly remoteKey: JWTVerifyGetKey = async (
    header: JWTHeaderParameters,
    token: FlattenedJWSInput,
  ) => {
    const jwks = this.jwks;
    if (jwks === undefined) throw new KeySetUnavailable('no JWKS configured');
    try {
      return await jwks(header, token);
    } catch (err) {
      const code = joseCode(err);
      if (code === 'ERR_JWKS_NO_MATCHING_KEY' || code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') {
        throw err;
      }
      throw new KeySetUnavailable('JWKS fetch failed', { cause: err });
    }
  };
}
