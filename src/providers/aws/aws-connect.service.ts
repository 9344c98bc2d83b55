import { Inject, Injectable } from '@nestjs/common';
import { AuditService } from '../../audit/audit.service';
import { type Caller, callerActor } from '../../auth/caller';
import { BrokerError } from '../../common/error-codes';
import { APP_CONFIG, type AppConfig } from '../../config/config';
import { type ConnectionEntity } from '../../database/entities';
import { ConnectionWriter } from '../../lifecycle/connection-writer';
import { parseRoleArn, sessionNameFor } from './aws-arn';
import { AwsExternalIds } from './aws-external-ids';
import { classifyStsError, connectError } from './aws-failures';
import { AwsStsClient, type AwsSessionCredentials } from './aws-sts.client';
import { type TrustPolicy, trustPolicy } from './aws-trust-policy';
import { type AwsConnectBody, DEFAULT_SESSION_SECONDS, MIN_SESSION_SECONDS } from './aws.schemas';
import { awsSecret } from './aws.driver';

export function awsDisabled(): BrokerError {
  return new BrokerError('provider_disabled', 'The aws provider is not enabled on this broker');
}

/**
 * GET /aws/external-id and POST /aws/connect (SPEC §13): the user's external id and the trust
 * policy to paste, then AssumeRole with it, the confused-deputy check, and a connection keyed by
 * the role ARN whose credentials live in the secret store only.
 */
@Injectable()
export class AwsConnectService {
  constructor(
    private readonly sts: AwsStsClient,
    private readonly externalIds: AwsExternalIds,
    private readonly writer: ConnectionWriter,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async externalId(userId: string): Promise<{
    external_id: string;
    broker_principal_arn: string;
    trust_policy: TrustPolicy;
  }> {
    if (!this.config.aws.enabled) throw awsDisabled();
    const [externalId, principal] = await Promise.all([
      this.externalIds.of(userId),
      this.brokerPrincipal(),
    ]);
    return {
      external_id: externalId,
      broker_principal_arn: principal,
      trust_policy: trustPolicy(principal, externalId),
    };
  }

  async connect(
    userId: string,
    body: AwsConnectBody,
    actor: Caller,
    requestId: string,
  ): Promise<{ connection: ConnectionEntity; created: boolean }> {
    if (!this.config.aws.enabled) throw awsDisabled();
    const role = parseRoleArn(body.role_arn);
    if (!role) throw new BrokerError('validation_failed'); // the schema checked it already
    const externalId = await this.externalIds.of(userId);
    const sessionName = sessionNameFor(userId);
    const durationSeconds = body.session_duration_seconds ?? DEFAULT_SESSION_SECONDS;
    const region = body.region ?? this.config.aws.region;

    let credentials: AwsSessionCredentials;
    try {
      credentials = await this.sts.assumeRole({ roleArn: role.arn, sessionName, externalId, durationSeconds }); // prettier-ignore
    } catch (err) {
      throw connectError(err);
    }
    await this.requireExternalIdEnforced(role.arn, sessionName, actor, requestId);

    return this.writer.connect({
      userId,
      provider: 'aws',
      accountRef: role.arn,
      displayName: `${role.name} (${role.accountId})`,
      scopes: [],
      expiresAt: credentials.expiration,
      metadata: {
        role_arn: role.arn,
        account_id: role.accountId,
        region,
        external_id: externalId,
      },
      secret: awsSecret(credentials, {
        roleArn: role.arn,
        externalId,
        sessionName,
        region,
        durationSeconds,
      }),
      setupStatus: 'not_applicable',
      actor: callerActor(actor),
      requestId,
    });
  }

  /**
   * The confused-deputy check of AWS's guidance: the same AssumeRole without the external id
   * must be denied. If it is not, the role trusts the broker for anyone who names it (another
   * user of this broker included): nothing is stored and the credentials already obtained are
   * dropped unused (STS sessions cannot be revoked; the check asks for the shortest one).
   */
  private async requireExternalIdEnforced(
    roleArn: string,
    sessionName: string,
    actor: Caller,
    requestId: string,
  ): Promise<void> {
    try {
      await this.sts.assumeRole({
        roleArn,
        sessionName,
        externalId: undefined,
        durationSeconds: MIN_SESSION_SECONDS,
      });
    } catch (err) {
      if (classifyStsError(err).failure === 'denied') return;
      // Could not tell: connect nothing rather than a role that might be open.
      throw connectError(err);
    }
    await this.audit.record({
      ...callerActor(actor),
      action: 'connection.refused',
      outcome: 'failure',
      provider: 'aws',
      errorCode: 'aws_external_id_not_enforced',
      requestId,
      details: { role_arn: roleArn },
    });
    throw new BrokerError(
      'aws_external_id_not_enforced',
      'The role can be assumed by the broker without your external id, so anyone who names it ' +
        'could use it through the broker: add the Condition {"StringEquals": {"sts:ExternalId": ' +
        '<your external id>}} to its trust policy (GET /aws/external-id), then connect again',
    );
  }

  private async brokerPrincipal(): Promise<string> {
    try {
      return await this.sts.brokerPrincipalArn();
    } catch (err) {
      throw new BrokerError(
        'provider_unavailable',
        'The broker could not learn its own AWS identity (STS GetCallerIdentity); try again',
        { cause: err },
      );
    }
  }
}
