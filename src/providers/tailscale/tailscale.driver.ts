import { Injectable } from '@nestjs/common';
import { type ConnectionEntity } from '../../database/entities';
import { type SecretData } from '../../secrets/secret-store';
import { type CredentialProvider, ProviderError, type TokenGrant } from '../provider';
import { TailscaleApiError, TailscaleClient } from './tailscale-client';
import { refreshError } from './tailscale-failures';
import { TailscaleSetup } from './setup/tailscale-setup.definition';
import { TAILSCALE_AUTH_KEY_ID } from './setup/tailscale-setup.steps';

/**
 * Tailscale after connect. Refresh mints a new token with the stored OAuth client (client
 * credentials have no refresh token). Revoke deletes the auth key setup created, when there is one;
 * the OAuth client itself is the user's and stays.
 */
@Injectable()
export class TailscaleDriver implements CredentialProvider {
  readonly provider = 'tailscale' as const;

  constructor(
    private readonly client: TailscaleClient,
    readonly setup: TailscaleSetup,
  ) {}

  isEnabled(): boolean {
    return true;
  }

  async refresh(
    _connection: ConnectionEntity,
    secret: SecretData,
    signal?: AbortSignal,
  ): Promise<TokenGrant> {
    const { clientId, clientSecret } = oauthClientOf(secret);
    try {
      const token = await this.client.mintToken(clientId, clientSecret, signal);
      return {
        secret: {
          ...secret,
          access_token: token.accessToken,
          token_type: 'Bearer',
          expires_at: token.expiresAt.toISOString(),
        },
        expiresAt: token.expiresAt,
        scopes: token.scope.split(/\s+/).filter(Boolean),
      };
    } catch (err) {
      throw refreshError(err);
    }
  }

  /** Deletes the auth key that setup created (its id is in the setup secret). */
  async revoke(
    _connection: ConnectionEntity,
    secret: SecretData,
    setupSecret: SecretData | null,
  ): Promise<void> {
    const keyId = setupSecret?.[TAILSCALE_AUTH_KEY_ID];
    if (!keyId) return;
    const { clientId, clientSecret } = oauthClientOf(secret);
    let accessToken: string;
    try {
      // The stored token may have expired long ago: mint one for the delete.
      accessToken = (await this.client.mintToken(clientId, clientSecret)).accessToken;
    } catch (err) {
      throw refreshError(err);
    }
    try {
      await this.client.deleteKey(accessToken, secret.tailnet || '-', keyId);
    } catch (err) {
      const status = err instanceof TailscaleApiError ? err.status : 0;
      throw new ProviderError(
        status === 401 || status === 403 ? 'permanent' : 'transient',
        'tailscale_key_delete_failed',
        `tailscale auth key delete failed (${status || 'no response'})`,
        { cause: err, status },
      );
    }
  }
}

function oauthClientOf(secret: SecretData): { clientId: string; clientSecret: string } {
  const clientId = secret.client_id ?? '';
  const clientSecret = secret.client_secret ?? '';
  if (!clientId || !clientSecret) {
    throw new ProviderError(
      'permanent',
      'secret_incomplete',
      'stored Tailscale secret is incomplete',
    );
  }
  return { clientId, clientSecret };
}
