import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { type Caller, callerActor } from '../../auth/caller';
import { Clock, SYSTEM_CLOCK } from '../../common/clock';
import { BrokerError } from '../../common/error-codes';
import { APP_CONFIG, type AppConfig } from '../../config/config';
import { ConnectionWriter } from '../../lifecycle/connection-writer';
import { type ConnectionEntity } from '../../database/entities';
import { AzureClient, type AzureServicePrincipal, type AzureSubscription } from './azure-client';
import { AzureFailureClassifier } from './azure-failure-classifier';
import { type SecretExpiry, secretExpiryMetadata } from './azure-secret-expiry';
import { type AzureLoginBody } from './azure.schemas';

/** How long a login waits for Graph's answer about the secret's expiry (token and request). */
export const LOGIN_GRAPH_TIMEOUT_MS = 3_000;

/**
 * POST /azure/login (SPEC §5 Azure): an ARM token for the service principal, its subscriptions,
 * the requested or first Enabled one, and a connection keyed `<tenant_id>/<subscription_id>`,
 * with when its client secret expires where Graph tells (SPEC §14).
 */
@Injectable()
export class AzureLoginService {
  private readonly logger = new Logger(AzureLoginService.name);

  constructor(
    private readonly client: AzureClient,
    private readonly failures: AzureFailureClassifier,
    private readonly writer: ConnectionWriter,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() private readonly clock: Clock = SYSTEM_CLOCK,
  ) {}

  async login(
    userId: string,
    body: AzureLoginBody,
    actor: Caller,
    requestId: string,
  ): Promise<{ connection: ConnectionEntity; created: boolean }> {
    const sp: AzureServicePrincipal = {
      tenantId: body.tenant_id,
      clientId: body.client_id,
      clientSecret: body.client_secret,
    };
    const credential = this.client.credential(sp);
    let token;
    let subscriptions: AzureSubscription[];
    let expiry: Promise<SecretExpiry> | undefined;
    try {
      token = await this.client.armToken(credential);
      // The secret's expiry is read beside the subscriptions list, within a short bound of its
      // own, and never fails the login: unknown is a fine answer (the worker asks again).
      expiry = this.client.secretExpiry(credential, sp, {
        timeoutMs: LOGIN_GRAPH_TIMEOUT_MS,
        now: this.clock.now(),
      });
      subscriptions = await this.client.listSubscriptions(credential);
    } catch (err) {
      throw await this.loginError(err, sp.tenantId);
    }
    const secretExpiry = await expiry;
    if (!secretExpiry.known) {
      this.logger.log(
        { tenantId: sp.tenantId, clientId: sp.clientId, reason: secretExpiry.reason, detail: secretExpiry.detail }, // prettier-ignore
        'Azure client secret expiry unknown',
      );
    }
    const chosen = pickSubscription(subscriptions, body.subscription_id);
    // A tenant named by domain is stored by its id, so both spellings reach the same connection.
    const tenantId = chosen.tenantId ?? sp.tenantId;
    return this.writer.connect({
      userId,
      provider: 'azure',
      accountRef: `${tenantId}/${chosen.subscriptionId}`,
      displayName: chosen.displayName,
      scopes: [this.config.azure.armScope],
      expiresAt: token.expiresAt,
      metadata: {
        tenant_id: tenantId,
        client_id: sp.clientId,
        subscription_id: chosen.subscriptionId,
        subscription_name: chosen.displayName,
        ...secretExpiryMetadata(secretExpiry),
      },
      secret: {
        tenant_id: tenantId,
        client_id: sp.clientId,
        client_secret: sp.clientSecret,
        access_token: token.accessToken,
        token_type: 'Bearer',
        expires_at: token.expiresAt.toISOString(),
      },
      setupStatus: 'not_applicable',
      actor: callerActor(actor),
      requestId,
    });
  }

  private async loginError(err: unknown, tenantId: string): Promise<BrokerError> {
    const { failure } = await this.failures.classify(err, tenantId);
    switch (failure) {
      case 'invalid_credentials':
        return new BrokerError(
          'azure_invalid_credentials',
          'Azure rejected the client id or secret (wrong, expired, or not in this tenant)',
        );
      case 'invalid_tenant':
        return new BrokerError('azure_invalid_tenant', 'Azure does not know this tenant');
      case 'transient':
        // The cause is logged (redacted) by the problem filter; the caller sees no raw body.
        return new BrokerError('provider_unavailable', 'Azure could not be reached; try again', {
          cause: err,
        });
    }
  }
}

/** The requested subscription (it must be Enabled) or the first Enabled one. */
export function pickSubscription(
  subscriptions: AzureSubscription[],
  requested: string | undefined,
): AzureSubscription {
  if (requested !== undefined) {
    const found = subscriptions.find((s) => s.subscriptionId.toLowerCase() === requested);
    if (!found || found.state !== 'Enabled') {
      throw new BrokerError(
        'azure_subscription_not_found',
        `Subscription ${requested} is not visible to this service principal or is not Enabled`,
      );
    }
    return found;
  }
  const enabled = subscriptions.find((s) => s.state === 'Enabled');
  if (!enabled) {
    throw new BrokerError(
      'azure_no_enabled_subscription',
      'The service principal sees no Enabled subscription; grant it a role on one',
    );
  }
  return enabled;
}
