import { createHash, randomBytes } from 'node:crypto';

/**
 * The emulator's memory: authorization codes, grants and the tokens issued for them, shaped like
 * Google's (`4/0A…` codes, `ya29.…` access tokens, `1//…` refresh tokens, an `eyJ…` id_token),
 * so tests can search for every token that was ever handed out.
 */

export interface GoogleAccount {
  sub: string;
  email: string;
}

export interface AuthCode {
  clientId: string;
  redirectUri: string;
  scopes: string[];
  codeChallenge?: string;
  codeChallengeMethod?: string;
  offline: boolean;
  account: GoogleAccount;
  expiresAt: number;
  used: boolean;
}

export interface Grant {
  clientId: string;
  account: GoogleAccount;
  scopes: string[];
  refreshToken?: string;
  revoked: boolean;
}

export interface AccessToken {
  grant: Grant;
  expiresAt: number;
}

const b64url = (n: number) => randomBytes(n).toString('base64url');

/** Google answers the `email` scope with its long name, and so does the emulator. */
export function grantedScopeNames(requested: string[]): string[] {
  return requested.map((s) =>
    s === 'email'
      ? 'https://www.googleapis.com/auth/userinfo.email'
      : s === 'profile'
        ? 'https://www.googleapis.com/auth/userinfo.profile'
        : s,
  );
}

export function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

export class GrantBook {
  readonly codes = new Map<string, AuthCode>();
  readonly accessTokens = new Map<string, AccessToken>();
  readonly refreshTokens = new Map<string, Grant>();
  /** Every secret value issued, in order, by kind. */
  readonly issued = {
    codes: [] as string[],
    access: [] as string[],
    refresh: [] as string[],
    id: [] as string[],
  };

  newCode(code: Omit<AuthCode, 'used' | 'expiresAt'>): string {
    const value = `4/0A${b64url(48)}`;
    this.codes.set(value, { ...code, used: false, expiresAt: Date.now() + 10 * 60_000 });
    this.issued.codes.push(value);
    return value;
  }

  newAccessToken(grant: Grant, lifetimeSeconds: number): string {
    const value = `ya29.a0${b64url(120)}`;
    this.accessTokens.set(value, { grant, expiresAt: Date.now() + lifetimeSeconds * 1000 });
    this.issued.access.push(value);
    return value;
  }

  newRefreshToken(grant: Grant): string {
    const value = `1//0${b64url(72)}`;
    grant.refreshToken = value;
    this.refreshTokens.set(value, grant);
    this.issued.refresh.push(value);
    return value;
  }

  /** An unsigned-looking OIDC id_token: the broker must neither keep nor need it. */
  newIdToken(grant: Grant, audience: string): string {
    const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const value = [
      enc({ alg: 'RS256', kid: 'fake-google', typ: 'JWT' }),
      enc({
        iss: 'https://accounts.google.com',
        aud: audience,
        sub: grant.account.sub,
        email: grant.account.email,
        email_verified: true,
        iat: now,
        exp: now + 3600,
      }),
      b64url(256),
    ].join('.');
    this.issued.id.push(value);
    return value;
  }

  /** All issued secrets, for "appears nowhere else" searches. */
  allSecrets(): string[] {
    const i = this.issued;
    return [...i.codes, ...i.access, ...i.refresh, ...i.id];
  }

  liveAccessToken(value: string): AccessToken | undefined {
    const token = this.accessTokens.get(value);
    if (!token || token.grant.revoked || token.expiresAt <= Date.now()) return undefined;
    return token;
  }
}
