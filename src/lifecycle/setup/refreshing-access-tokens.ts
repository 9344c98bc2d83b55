import { Inject, Injectable } from '@nestjs/common';
import { BrokerError } from '../../common/error-codes';
import { type ConnectionEntity } from '../../database/entities';
import { RefreshService } from '../refresh/refresh.service';
import { isServable } from '../refresh/refresh-timing';
import { SECRET_STORE, type SecretStore } from '../../secrets/secret-store';
import { type AccessTokenSource } from './access-token-source';
import { SetupStepError } from './setup-step';

/**
 * Access tokens for setup steps through the lifecycle's single-flight refresh: a token inside the
 * refresh window is refreshed first (once across every process), then read from the secret store
 * at the version Postgres names. A dead grant ends the run; a provider outage is retried.
 */
@Injectable()
export class RefreshingAccessTokens implements AccessTokenSource {
  constructor(
    private readonly refresher: RefreshService,
    @Inject(SECRET_STORE) private readonly secrets: SecretStore,
  ) {}

  async accessToken(connection: ConnectionEntity): Promise<string> {
    let current: ConnectionEntity;
    try {
      const outcome = await this.refresher.refresh(connection.id, {
        trigger: 'read',
        force: false,
        actor: { actorType: 'system', actorId: 'setup' },
      });
      current = outcome.connection;
      if (outcome.kind === 'backoff' && !isServable(current.expiresAt, Date.now())) {
        throw unavailable('the provider is failing to refresh the token');
      }
    } catch (err) {
      if (err instanceof SetupStepError) throw err;
      if (err instanceof BrokerError && err.code === 'needs_reauth') {
        throw new SetupStepError('needs_reauth', 'The connection must be connected again', {
          retryable: false,
          cause: err,
        });
      }
      throw unavailable('the token could not be refreshed', err);
    }
    let secret;
    try {
      secret = await this.secrets.read(current.vaultPath, current.vaultVersion);
    } catch (err) {
      throw new SetupStepError('secret_store_unavailable', 'The secret store is unavailable', {
        retryable: true,
        cause: err,
      });
    }
    const token = secret?.reveal().access_token;
    if (!token) throw unavailable('the stored token set has no access token');
    return token;
  }
}

function unavailable(detail: string, cause?: unknown): SetupStepError {
  return new SetupStepError('provider_unavailable', `Could not get an access token: ${detail}`, {
    retryable: true,
    cause,
  });
}
