import { type SecretData } from '../../secrets/secret-store';
import { type TokenGrant } from '../provider';
import { type GoogleTokens } from './gcp-oauth.client';

/** The scope without which the broker cannot do its job (SPEC §5 GCP step 3). */
export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/** What a login asks for: SPEC §5 GCP step 2, plus GCP_EXTRA_SCOPES. */
export function requestedScopes(extra: string[]): string[] {
  return [...new Set(['openid', 'email', CLOUD_PLATFORM_SCOPE, ...extra])];
}

/**
 * The token set as the secret store keeps it. No id_token: the broker reads the email from
 * userinfo and has no use for a second bearer credential.
 */
export function gcpTokenGrant(
  tokens: GoogleTokens,
  refreshToken: string,
  previousScopes: string[] = [],
): TokenGrant {
  // A refresh answer may omit `scope`; the grant's scopes are then unchanged.
  const scopes = tokens.scopes ?? previousScopes;
  const secret: SecretData = {
    access_token: tokens.accessToken,
    refresh_token: refreshToken,
    token_type: tokens.tokenType,
    scope: scopes.join(' '),
    expires_at: tokens.expiresAt.toISOString(),
  };
  return { secret, expiresAt: tokens.expiresAt, scopes };
}
