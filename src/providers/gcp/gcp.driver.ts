import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../config/config';
import { type ConnectionEntity } from '../../database/entities';
import { type SecretData } from '../../secrets/secret-store';
import { type CredentialProvider, ProviderError, type TokenGrant } from '../provider';
import { GcpOAuthClient } from './gcp-oauth.client';
import { GcpSetup } from './setup/gcp-setup.definition';
import { gcpTokenGrant } from './gcp-token-set';

/** Google Cloud after connect: refresh with the refresh token, revoke at Google on delete. */
@Injectable()
export class GcpDriver implements CredentialProvider {
  readonly provider = 'gcp' as const;

  constructor(
    private readonly google: GcpOAuthClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    readonly setup: GcpSetup,
  ) {}

  isEnabled(): boolean {
    return this.config.gcp.enabled;
  }

  async refresh(connection: ConnectionEntity, secret: SecretData): Promise<TokenGrant> {
    const refreshToken = secret.refresh_token;
    if (!refreshToken) {
      // Nothing to refresh with: only a new consent helps.
      throw new ProviderError('permanent', 'missing_refresh_token', 'No refresh token is stored');
    }
    // google-auth-library's refresh takes no AbortSignal: its own per-call timeout (8 s, one
    // retry) bounds the call instead, within the broker's deadline.
    const tokens = await this.google.refresh(refreshToken);
    // Google does not rotate refresh tokens on this grant; should it ever send one, it wins.
    return gcpTokenGrant(tokens, tokens.refreshToken ?? refreshToken, connection.scopes);
  }

  /**
   * Revoking the refresh token ends the whole grant (its access tokens too). A token Google
   * already considers dead (`invalid_token`) is what revoking wanted: success.
   */
  async revoke(_connection: ConnectionEntity, secret: SecretData): Promise<void> {
    const token = secret.refresh_token ?? secret.access_token;
    if (!token) return;
    try {
      await this.google.revoke(token);
    } catch (err) {
      if (err instanceof ProviderError && err.reason === 'invalid_token') return;
      throw err;
    }
  }
}
