import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig, OVH_REGIONS, type OvhRegion } from '../../config/config';
import { type ConnectionEntity } from '../../database/entities';
import { type SecretData } from '../../secrets/secret-store';
import {
  type CredentialProvider,
  ProviderError,
  type TokenGrant,
  type UpstreamCleanup,
  nothingUpstream,
} from '../provider';
import { OvhApiError, OvhClient } from './ovh-client';
import { ovhSecret } from './ovh-token-set';

/** OAuth `error` words that mean the grant or the client is dead: re-authorisation is needed. */
const DEAD_GRANT = new Set(['invalid_grant', 'invalid_client', 'unauthorized_client']);

/**
 * OVHcloud after connect. Refresh uses the refresh token (OVH may rotate it; the old one is kept
 * when none comes back). Revoke: OVHcloud documents no OAuth2 revocation endpoint, so nothing
 * is called upstream; the caller destroys the secret, and the user can remove the application's
 * access in the OVHcloud control panel.
 */
@Injectable()
export class OvhDriver implements CredentialProvider {
  readonly provider = 'ovh' as const;

  constructor(
    private readonly ovh: OvhClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  isEnabled(): boolean {
    return this.config.ovh.enabled;
  }

  async refresh(
    connection: ConnectionEntity,
    secret: SecretData,
    signal?: AbortSignal,
  ): Promise<TokenGrant> {
    const region = regionOf(connection, secret);
    const refreshToken = secret.refresh_token;
    if (!refreshToken)
      throw new ProviderError('permanent', 'secret_incomplete', 'no OVH refresh token stored');
    if (!this.config.ovh.regions[region].enabled) {
      // Not the user's fault and maybe temporary (an operator unset the client): retry later.
      throw new ProviderError('transient', 'provider_disabled', `OVH region ${region} is disabled`);
    }
    try {
      const tokens = await this.ovh.refresh(region, refreshToken, signal);
      return {
        secret: { ...secret, ...ovhSecret(region, tokens, tokens.refreshToken ?? refreshToken) },
        expiresAt: tokens.expiresAt,
        scopes: tokens.scope.split(/\s+/).filter(Boolean),
      };
    } catch (err) {
      const status = err instanceof OvhApiError ? err.status : 0;
      const word = err instanceof OvhApiError ? err.error : '';
      if (DEAD_GRANT.has(word) || status === 401) {
        throw new ProviderError('permanent', word || 'invalid_grant', `OVH refused the refresh (${word || status})`, { status }); // prettier-ignore
      }
      throw new ProviderError('transient', 'provider_unavailable', `OVH refresh failed (${status || 'no response'})`, { cause: err, status }); // prettier-ignore
    }
  }

  async revoke(): Promise<UpstreamCleanup> {
    // Nothing upstream to revoke (see the class comment).
    return nothingUpstream();
  }
}

function regionOf(connection: ConnectionEntity, secret: SecretData): OvhRegion {
  const stored = secret.region ?? connection.metadata.region;
  const region = OVH_REGIONS.find((r) => r === stored);
  if (!region)
    throw new ProviderError('permanent', 'secret_incomplete', 'OVH connection without a region');
  return region;
}
