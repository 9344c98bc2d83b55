import { Inject, Injectable } from '@nestjs/common';
import { type STSClient, type STSClientConfig } from '@aws-sdk/client-sts';
import { APP_CONFIG, type AppConfig } from '../../config/config';
import { trustablePrincipal } from './aws-arn';

/** Temporary credentials of one AssumeRole: they live in the secret store only. */
export interface AwsSessionCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

export interface AssumeRoleInput {
  roleArn: string;
  sessionName: string;
  /** Undefined only for the confused-deputy check, which must be denied. */
  externalId: string | undefined;
  durationSeconds: number;
}

/*
 * The SDK is loaded on the first AWS call, not with this module: a process where AWS is off
 * (or a worker that never refreshes an AWS connection) need not carry it.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const sts = () => require('@aws-sdk/client-sts') as typeof import('@aws-sdk/client-sts');
/* eslint-enable @typescript-eslint/no-require-imports */

/** Per request; with the one retry a refresh stays under the broker's refresh deadline. */
const REQUEST_TIMEOUT_MS = 8_000;
const CONNECTION_TIMEOUT_MS = 3_000;

/**
 * The STS edge. The broker's own identity is the SDK's default provider chain (environment,
 * shared config and AWS_PROFILE, web identity for EKS IRSA, container and instance roles) unless
 * the configuration holds keys (which may have come from *_FILE). `AWS_STS_ENDPOINT` points it
 * at an emulator, a FIPS endpoint or another partition. Errors are thrown as the SDK made them;
 * `aws-failures.ts` reads them.
 */
@Injectable()
export class AwsStsClient {
  private client?: STSClient;
  private principal?: Promise<string>;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  private sts(): STSClient {
    if (this.client) return this.client;
    const aws = this.config.aws;
    const options: STSClientConfig = {
      region: aws.region,
      // One retry at most: the broker's own backoff is the retry policy.
      maxAttempts: 2,
      requestHandler: {
        requestTimeout: REQUEST_TIMEOUT_MS,
        connectionTimeout: CONNECTION_TIMEOUT_MS,
      },
      ...(aws.stsEndpoint ? { endpoint: aws.stsEndpoint } : {}),
      ...(aws.keys ? { credentials: aws.keys } : {}),
    };
    this.client = new (sts().STSClient)(options);
    return this.client;
  }

  async assumeRole(
    input: AssumeRoleInput,
    abortSignal?: AbortSignal,
  ): Promise<AwsSessionCredentials> {
    const out = await this.sts().send(
      new (sts().AssumeRoleCommand)({
        RoleArn: input.roleArn,
        RoleSessionName: input.sessionName,
        DurationSeconds: input.durationSeconds,
        ...(input.externalId !== undefined ? { ExternalId: input.externalId } : {}),
      }),
      { abortSignal },
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
      throw new Error('STS AssumeRole answered without complete credentials');
    }
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: c.Expiration,
    };
  }

  /**
   * The principal trust policies name: AWS_BROKER_PRINCIPAL_ARN, else what GetCallerIdentity
   * says (asked once; a failure is not kept, so the next call asks again).
   */
  brokerPrincipalArn(): Promise<string> {
    const configured = this.config.aws.brokerPrincipalArn;
    if (configured) return Promise.resolve(configured);
    this.principal ??= this.sts()
      .send(new (sts().GetCallerIdentityCommand)({}))
      .then((out) => {
        if (!out.Arn) throw new Error('STS GetCallerIdentity answered without an Arn');
        return trustablePrincipal(out.Arn);
      })
      .catch((err: unknown) => {
        this.principal = undefined;
        throw err;
      });
    return this.principal;
  }
}
