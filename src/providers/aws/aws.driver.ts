import { Inject, Injectable } from '@nestjs/common';
import { BrokerError } from '../../common/error-codes';
import { APP_CONFIG, type AppConfig } from '../../config/config';
import { type ConnectionEntity } from '../../database/entities';
import { type SecretData } from '../../secrets/secret-store';
import {
  type CredentialProvider,
  ProviderError,
  type TokenGrant,
  type UpstreamCleanup,
  nothingUpstream,
} from '../provider';
import { refreshError } from './aws-failures';
import { AwsStsClient, type AwsSessionCredentials } from './aws-sts.client';
import { type AwsCredentialProcessView, type AwsCredentialsView } from './aws.schemas';

export const CREDENTIAL_PROCESS_FORMAT = 'credential_process';

/** What a refresh needs to assume the role again, kept beside the credentials. */
export interface AwsAssumption {
  roleArn: string;
  externalId: string;
  sessionName: string;
  region: string;
  durationSeconds: number;
}

/** The secret of an AWS connection: the session's credentials and how to get the next one. */
export function awsSecret(c: AwsSessionCredentials, a: AwsAssumption): SecretData {
  return {
    access_key_id: c.accessKeyId,
    secret_access_key: c.secretAccessKey,
    session_token: c.sessionToken,
    expires_at: c.expiration.toISOString(),
    role_arn: a.roleArn,
    external_id: a.externalId,
    session_name: a.sessionName,
    region: a.region,
    duration_seconds: String(a.durationSeconds),
  };
}

function assumptionOf(secret: SecretData): AwsAssumption {
  const durationSeconds = Number(secret.duration_seconds);
  if (
    !secret.role_arn ||
    !secret.external_id ||
    !secret.session_name ||
    !Number.isInteger(durationSeconds)
  ) {
    // A secret without the role can never refresh: connecting again is the only way out.
    throw new ProviderError('permanent', 'secret_incomplete', 'stored AWS secret is incomplete');
  }
  return {
    roleArn: secret.role_arn,
    externalId: secret.external_id,
    sessionName: secret.session_name,
    region: secret.region ?? '',
    durationSeconds,
  };
}

/**
 * AWS after connect. Refresh assumes the role again with the stored external id (STS sessions
 * have no refresh token). Revoke has nothing to do upstream: an STS session cannot be revoked
 * (only the role's owner can deny its sessions in IAM, by `aws:TokenIssueTime`); the caller
 * destroys the secret. A token read answers the credentials, or the credential_process JSON.
 */
@Injectable()
export class AwsDriver implements CredentialProvider {
  readonly provider = 'aws' as const;
  readonly tokenFormats = [CREDENTIAL_PROCESS_FORMAT] as const;
  readonly tokenFields = [
    'access_key_id',
    'secret_access_key',
    'session_token',
    'expires_at',
    'region',
  ] as const;

  constructor(
    private readonly sts: AwsStsClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  isEnabled(): boolean {
    return this.config.aws.enabled;
  }

  async refresh(
    connection: ConnectionEntity,
    secret: SecretData,
    signal?: AbortSignal,
  ): Promise<TokenGrant> {
    const assumption = assumptionOf(secret);
    let credentials: AwsSessionCredentials;
    try {
      credentials = await this.sts.assumeRole(
        {
          roleArn: assumption.roleArn,
          sessionName: assumption.sessionName,
          externalId: assumption.externalId,
          durationSeconds: assumption.durationSeconds,
        },
        signal,
      );
    } catch (err) {
      throw refreshError(err);
    }
    return {
      secret: { ...secret, ...awsSecret(credentials, assumption) },
      expiresAt: credentials.expiration,
      scopes: connection.scopes,
    };
  }

  async revoke(): Promise<UpstreamCleanup> {
    // Nothing upstream to revoke (see the class comment).
    return nothingUpstream();
  }

  tokenView(
    secret: SecretData,
    connection: ConnectionEntity,
    format: string | undefined,
  ): AwsCredentialsView | AwsCredentialProcessView {
    const { access_key_id, secret_access_key, session_token } = secret;
    if (!access_key_id || !secret_access_key || !session_token || !connection.expiresAt) {
      throw new BrokerError('secret_store_unavailable', 'The stored credentials are incomplete');
    }
    const expiresAt = connection.expiresAt.toISOString();
    if (format === CREDENTIAL_PROCESS_FORMAT) {
      return {
        Version: 1,
        AccessKeyId: access_key_id,
        SecretAccessKey: secret_access_key,
        SessionToken: session_token,
        Expiration: expiresAt,
      };
    }
    const region = secret.region || stringOf(connection.metadata.region) || this.config.aws.region;
    return {
      token_type: 'aws_credentials',
      access_key_id,
      secret_access_key,
      session_token,
      expires_at: expiresAt,
      region,
    };
  }
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
