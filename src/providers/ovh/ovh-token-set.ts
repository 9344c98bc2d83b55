import { type OvhRegion } from '../../config/config';
import { type SecretData } from '../../secrets/secret-store';
import { type OvhTokens } from './ovh-client';

/** The secret of an OVH connection: the token set, and the region whose client refreshes it. */
export function ovhSecret(region: OvhRegion, tokens: OvhTokens, refreshToken: string): SecretData {
  return {
    region,
    access_token: tokens.accessToken,
    refresh_token: refreshToken,
    token_type: 'Bearer',
    expires_at: tokens.expiresAt.toISOString(),
    scope: tokens.scope,
  };
}
