import { Inject, Injectable, Optional } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../config/config';
import { type ConnectionEntity } from '../../database/entities';
import { SECRET_STORE, type SecretData, type SecretStore } from '../../secrets/secret-store';
import {
  type CredentialProvider,
  type MaintainOutcome,
  ProviderError,
  type SetupLeftovers,
  type TokenGrant,
  type UpstreamCleanup,
  nothingUpstream,
  providerFailureReason,
} from '../provider';
import { TailscaleApiError, TailscaleClient } from './tailscale-client';
import { refreshError } from './tailscale-failures';
import { TailscaleSetup } from './setup/tailscale-setup.definition';
import {
  AUTH_KEY_EXPIRY_SECONDS,
  TAILSCALE_AUTH_KEY_ID,
  tailscaleSetupSecretPath,
} from './setup/tailscale-setup.steps';
import { Clock, SYSTEM_CLOCK } from '../../common/clock';

/** An auth key is replaced this long before it expires (it lives 90 days). */
export const AUTH_KEY_RENEW_BEFORE_MS = 14 * 24 * 3600 * 1000;

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
    @Inject(SECRET_STORE) private readonly secrets: SecretStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() private readonly clock: Clock = SYSTEM_CLOCK,
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

  /**
   * Replaces the auth key setup made when it expires within 14 days: a new key first, written
   * over the old one with check-and-set (a concurrent writer or a disconnect loses the new key,
   * which is then deleted), then the old key deleted upstream.
   */
  async maintain(
    connection: ConnectionEntity,
    secret: SecretData,
    isConnected: () => Promise<boolean>,
  ): Promise<MaintainOutcome | null> {
    const path = tailscaleSetupSecretPath(connection.id);
    const current = await this.secrets.read(path);
    const setup = current?.reveal();
    const oldId = setup?.[TAILSCALE_AUTH_KEY_ID];
    const expires = Date.parse(setup?.auth_key_expires_at ?? '');
    if (!current || !setup || !oldId || !(expires - this.clock.now() < AUTH_KEY_RENEW_BEFORE_MS)) {
      return null;
    }
    const { clientId, clientSecret } = oauthClientOf(secret);
    const tailnet = secret.tailnet || '-';
    const { accessToken } = await this.client
      .mintToken(clientId, clientSecret)
      .catch((err: unknown) => {
        throw refreshError(err);
      });
    const key = await this.client.createAuthKey(
      accessToken,
      tailnet,
      this.config.tailscale.tag,
      AUTH_KEY_EXPIRY_SECONDS,
    );
    try {
      if (!(await isConnected())) throw new Error('the connection was disconnected');
      await this.secrets.write(
        path,
        {
          ...setup,
          auth_key: key.key,
          [TAILSCALE_AUTH_KEY_ID]: key.id,
          auth_key_expires_at: key.expires,
        },
        { cas: current.ref.version },
      );
    } catch (err) {
      await this.client.deleteKey(accessToken, tailnet, key.id).catch(() => undefined);
      throw err;
    }
    await this.client.deleteKey(accessToken, tailnet, oldId);
    return {
      did: `auth key ${oldId} (expiring ${new Date(expires).toISOString()}) replaced by ${key.id}`,
    };
  }

  /**
   * Deletes the auth key that setup created (its id is in the setup secret). A key Tailscale no
   * longer knows is gone already; one that could not be deleted is reported as left.
   */
  async revoke(
    _connection: ConnectionEntity,
    secret: SecretData,
    setup: SetupLeftovers,
  ): Promise<UpstreamCleanup> {
    const report = nothingUpstream();
    const keyId = setup.secret?.[TAILSCALE_AUTH_KEY_ID];
    if (!keyId) return report;
    const tailnet = secret.tailnet || '-';
    const resource = `tailnet/${tailnet}/keys/${keyId}`;
    let accessToken: string;
    try {
      const { clientId, clientSecret } = oauthClientOf(secret);
      // The stored token may have expired long ago: mint one for the delete.
      accessToken = (await this.client.mintToken(clientId, clientSecret)).accessToken;
    } catch (err) {
      const failure = err instanceof ProviderError ? err : refreshError(err);
      report.left.push({ resource, reason: providerFailureReason(failure) });
      return report;
    }
    try {
      await this.client.deleteKey(accessToken, tailnet, keyId);
      report.removed.push(resource);
    } catch (err) {
      const status = err instanceof TailscaleApiError ? err.status : 0;
      report.left.push({ resource, reason: cleanupReason(status) });
    }
    return report;
  }
}

/** The reason word for an auth key delete Tailscale refused or did not answer. */
function cleanupReason(status: number): string {
  if (status === 401 || status === 403) return 'forbidden';
  if (status === 0 || status === 429 || status >= 500) return 'unavailable';
  return 'rejected';
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
