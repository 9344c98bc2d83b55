import { Injectable } from '@nestjs/common';
import { type ConnectionEntity } from '../../database/entities';
import { type SecretData } from '../../secrets/secret-store';
import {
  type CredentialProvider,
  ProviderError,
  type TokenGrant,
  type UpstreamCleanup,
  nothingUpstream,
} from '../provider';
import { AzureClient, type AzureServicePrincipal } from './azure-client';
import { AzureFailureClassifier } from './azure-failure-classifier';

/**
 * Azure after connect. Refresh mints a new ARM token with the stored service principal (client
 * credentials have no refresh token). Revoke has nothing to do upstream: an Entra ID access token
 * cannot be revoked and the service principal is the user's own; the caller destroys the secret.
 */
@Injectable()
export class AzureDriver implements CredentialProvider {
  readonly provider = 'azure' as const;

  constructor(
    private readonly client: AzureClient,
    private readonly failures: AzureFailureClassifier,
  ) {}

  isEnabled(): boolean {
    return true;
  }

  async refresh(
    connection: ConnectionEntity,
    secret: SecretData,
    signal?: AbortSignal,
  ): Promise<TokenGrant> {
    const sp = servicePrincipalOf(connection, secret);
    try {
      const token = await this.client.armToken(this.client.credential(sp), signal);
      return {
        secret: {
          ...secret,
          access_token: token.accessToken,
          token_type: 'Bearer',
          expires_at: token.expiresAt.toISOString(),
        },
        expiresAt: token.expiresAt,
        scopes: connection.scopes,
      };
    } catch (err) {
      const { failure, aadsts } = await this.failures.classify(err, sp.tenantId);
      const reason = failure === 'transient' ? 'provider_unavailable' : `azure_${failure}`;
      throw new ProviderError(
        failure === 'transient' ? 'transient' : 'permanent',
        reason,
        `Azure token request failed (${aadsts !== undefined ? `AADSTS${aadsts}` : failure})`,
      );
    }
  }

  async revoke(): Promise<UpstreamCleanup> {
    // Nothing upstream to revoke (see the class comment).
    return nothingUpstream();
  }
}

export function servicePrincipalOf(
  connection: ConnectionEntity,
  secret: SecretData,
): AzureServicePrincipal {
  const meta = connection.metadata;
  const tenantId = secret.tenant_id ?? (typeof meta.tenant_id === 'string' ? meta.tenant_id : '');
  const clientId = secret.client_id ?? (typeof meta.client_id === 'string' ? meta.client_id : '');
  const clientSecret = secret.client_secret ?? '';
  if (!tenantId || !clientId || !clientSecret) {
    // A secret without the principal can never refresh: re-authorisation is the only way out.
    throw new ProviderError('permanent', 'secret_incomplete', 'stored Azure secret is incomplete');
  }
  return { tenantId, clientId, clientSecret };
}
