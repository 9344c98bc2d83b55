import { Inject, Injectable, Optional } from '@nestjs/common';
import { Clock, SYSTEM_CLOCK } from '../../common/clock';
import { type ConnectionEntity } from '../../database/entities';
import { type RefreshOutcome } from '../refresh/refresh-outcome';
import { RefreshService } from '../refresh/refresh.service';
import { isServable } from '../refresh/refresh-timing';
import { SECRET_STORE, type SecretStore } from '../../secrets/secret-store';
import { type AccessTokenSource } from './access-token-source';
import { SetupStepError, secretStoreStepError } from '../../providers/setup-step';

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
    @Optional() private readonly clock: Clock = SYSTEM_CLOCK,
  ) {}

  async accessToken(connection: ConnectionEntity): Promise<string> {
    let outcome: RefreshOutcome;
    try {
      outcome = await this.refresher.refresh(connection.id, {
        trigger: 'read',
        force: false,
        actor: { actorType: 'system', actorId: 'setup' },
      });
    } catch (err) {
      throw unavailable('the token could not be refreshed', err);
    }
    let current: ConnectionEntity;
    switch (outcome.kind) {
      case 'fresh':
      case 'refreshed':
        current = outcome.connection;
        break;
      case 'backoff':
        if (!isServable(outcome.connection.expiresAt, this.clock.now())) {
          throw unavailable('the provider is failing to refresh the token');
        }
        current = outcome.connection;
        break;
      case 'needs_reauth':
        throw new SetupStepError('needs_reauth', 'The connection must be connected again', {
          retryable: false,
        });
      case 'failing':
        throw unavailable('the token could not be refreshed');
      case 'gone':
        throw unavailable('the connection is gone');
    }
    let secret;
    try {
      secret = await this.secrets.read(current.vaultPath, current.vaultVersion);
    } catch (err) {
      throw secretStoreStepError(err);
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
