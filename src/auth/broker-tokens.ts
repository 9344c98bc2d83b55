import { type JWK, createLocalJWKSet, decodeJwt, errors, jwtVerify } from 'jose';
import { BrokerError } from '../common/error-codes';
import { type ApiKeyScope } from '../database/enums';
import { isDelegableScope } from './scope-rules';

export interface BrokerTokenClaims {
  /** The user the token acts for: `sub`, or for a service client the user an admin named. */
  userId: string;
  clientId: string;
  scopes: ApiKeyScope[];
}

/**
 * Access tokens of the broker's own authorization server (SPEC §11): JWTs (RFC 9068) with
 * `iss` = PUBLIC_URL, checked against the server's public keys (handed over when it starts)
 * and an audience: PUBLIC_URL for the API, PUBLIC_URL/mcp for MCP, never the other.
 */
export class BrokerTokenVerifier {
  private jwks?: ReturnType<typeof createLocalJWKSet>;

  constructor(readonly issuer: string) {}

  setKeys(jwks: { keys: JWK[] }): void {
    this.jwks = createLocalJWKSet(jwks);
  }

  /** Whether `token` claims to be one of ours (unverified: only to choose the verifier). */
  claimsToBeOurs(token: string): boolean {
    try {
      return decodeJwt(token).iss === this.issuer;
    } catch {
      return false;
    }
  }

  async verify(token: string, audience: string): Promise<BrokerTokenClaims> {
    if (!this.jwks)
      throw new BrokerError('unauthenticated', 'the broker cannot verify its own tokens yet');
    try {
      const { payload } = await jwtVerify(token, this.jwks, {
        issuer: this.issuer,
        audience,
        algorithms: ['ES256'],
        typ: 'at+jwt',
      });
      const sub = typeof payload.cbk_user === 'string' ? payload.cbk_user : payload.sub;
      const clientId = typeof payload.client_id === 'string' ? payload.client_id : '';
      if (typeof sub !== 'string' || sub.length === 0) throw new Error('no subject');
      const scopes = (typeof payload.scope === 'string' ? payload.scope.split(' ') : []).filter(
        (s): s is ApiKeyScope => isDelegableScope(s),
      );
      return { userId: sub, clientId, scopes };
    } catch (err) {
      const reason =
        err instanceof errors.JWTExpired
          ? 'the token has expired'
          : err instanceof errors.JWTClaimValidationFailed && err.claim === 'aud'
            ? 'the token was issued for another audience'
            : 'the token is not valid';
      throw new BrokerError('unauthenticated', reason);
    }
  }
}
