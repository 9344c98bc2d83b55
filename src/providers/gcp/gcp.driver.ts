import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../config/config';
import { type ConnectionEntity } from '../../database/entities';
import { type SecretData } from '../../secrets/secret-store';
import {
  type CredentialProvider,
  ProviderError,
  type SetupLeftovers,
  type TokenGrant,
  type UpstreamCleanup,
  nothingUpstream,
  providerFailureReason,
} from '../provider';
import { GcpSetupCleanup, gcpSetupInventory } from './gcp-setup-cleanup';
import { GcpOAuthClient } from './gcp-oauth.client';
import { GcpSetup } from './setup/gcp-setup.definition';
import { gcpTokenGrant } from './gcp-token-set';

/** The grant itself, as a disconnect report names it. */
export const OAUTH_GRANT = 'oauth_grant';

/**
 * Google Cloud after connect: refresh with the refresh token; on delete, undo setup upstream and
 * revoke the grant at Google.
 */
@Injectable()
export class GcpDriver implements CredentialProvider {
  readonly provider = 'gcp' as const;

  constructor(
    private readonly google: GcpOAuthClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    readonly setup: GcpSetup,
    private readonly cleanup: GcpSetupCleanup,
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
   * Deletes what setup made (GcpSetupCleanup), with an access token minted for it — the stored
   * one may have expired long ago — then revokes the refresh token, which ends the whole grant
   * (its access tokens too). A token Google already considers dead (`invalid_token`) is what
   * revoking wanted. Nothing here throws: what could not be done is in the report.
   */
  async revoke(
    _connection: ConnectionEntity,
    secret: SecretData,
    setup: SetupLeftovers,
  ): Promise<UpstreamCleanup> {
    const report = nothingUpstream();
    const made = gcpSetupInventory(setup.result);
    if (made) {
      try {
        await this.cleanup.undo(await this.cleanupToken(secret), made, report);
      } catch (err) {
        // No token to act with (the grant is dead, Google is down): all of it stays.
        const reason = providerFailureReason(err);
        for (const email of made.emails) {
          report.left.push({ resource: `projects/${made.rootProjectId}/serviceAccounts/${email}`, reason }); // prettier-ignore
        }
        for (const project of made.boundProjects) {
          report.left.push({ resource: `projects/${project}/iamPolicy`, reason });
        }
      }
    }
    const token = secret.refresh_token ?? secret.access_token;
    if (!token) return report;
    try {
      await this.google.revoke(token);
      report.removed.push(OAUTH_GRANT);
    } catch (err) {
      if (!(err instanceof ProviderError && err.reason === 'invalid_token')) {
        report.left.push({ resource: OAUTH_GRANT, reason: providerFailureReason(err) });
      }
    }
    return report;
  }

  private async cleanupToken(secret: SecretData): Promise<string> {
    if (!secret.refresh_token) {
      if (secret.access_token) return secret.access_token;
      throw new ProviderError('permanent', 'missing_refresh_token', 'No refresh token is stored');
    }
    return (await this.google.refresh(secret.refresh_token)).accessToken;
  }
}
