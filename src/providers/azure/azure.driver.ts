import { Injectable, Logger, Optional } from '@nestjs/common';
import { Clock, SYSTEM_CLOCK } from '../../common/clock';
import { type ConnectionEntity } from '../../database/entities';
import { type SecretData } from '../../secrets/secret-store';
import {
  type CredentialProvider,
  type MaintainOutcome,
  ProviderError,
  type TokenGrant,
  type UpstreamCleanup,
  nothingUpstream,
} from '../provider';
import { AzureClient, type AzureServicePrincipal } from './azure-client';
import { AzureFailureClassifier } from './azure-failure-classifier';
import { needsSecretLookup, secretExpiryUpkeep } from './azure-secret-expiry';

/** How long a maintenance pass waits for Graph about one connection (nobody is waiting on it). */
export const MAINTAIN_GRAPH_TIMEOUT_MS = 15_000;

/**
 * Azure after connect. Refresh mints a new ARM token with the stored service principal (client
 * credentials have no refresh token). Revoke has nothing to do upstream: an Entra ID access token
 * cannot be revoked and the service principal is the user's own; the caller destroys the secret.
 * Maintenance keeps the client secret's expiry on the connection and warns 14 days ahead.
 */
@Injectable()
export class AzureDriver implements CredentialProvider {
  readonly provider = 'azure' as const;
  private readonly logger = new Logger(AzureDriver.name);

  constructor(
    private readonly client: AzureClient,
    private readonly failures: AzureFailureClassifier,
    @Optional() private readonly clock: Clock = SYSTEM_CLOCK,
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

  /**
   * Reads the secret's expiry from Graph while it is unknown (or past: see `needsSecretLookup`),
   * and raises `connection.secret_expiring` once it is 14 days away or less
   * (`secretExpiryUpkeep`). Writes nothing itself: the engine merges the outcome.
   */
  async maintain(
    connection: ConnectionEntity,
    secret: SecretData,
  ): Promise<MaintainOutcome | null> {
    const now = this.clock.now();
    let found = null;
    if (needsSecretLookup(connection.metadata, now)) {
      const sp = servicePrincipalOf(connection, secret);
      found = await this.client.secretExpiry(this.client.credential(sp), sp, {
        timeoutMs: MAINTAIN_GRAPH_TIMEOUT_MS,
        now,
      });
      if (!found.known) {
        this.logger.debug(
          { connectionId: connection.id, reason: found.reason, detail: found.detail },
          'Azure client secret expiry still unknown',
        );
      }
    }
    return secretExpiryUpkeep(connection.metadata, found, now);
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
