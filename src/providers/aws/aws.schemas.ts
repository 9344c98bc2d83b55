import { z } from 'zod';
import { dateTimeString, requestSchema, responseSchema } from '../../openapi/contract';
import { registerTokenView } from '../token-views';
import { ROLE_ARN_MESSAGE, parseRoleArn } from './aws-arn';

export const MIN_SESSION_SECONDS = 900;
export const MAX_SESSION_SECONDS = 43_200;
export const DEFAULT_SESSION_SECONDS = 3_600;

/** POST /aws/connect. The ARN is checked here, before any call to STS. */
export const awsConnectBody = requestSchema(
  'AwsConnectRequest',
  z
    .object({
      role_arn: z
        .string()
        .max(2048)
        .refine((v) => parseRoleArn(v) !== undefined, { message: ROLE_ARN_MESSAGE })
        .describe('The role to assume: arn:<partition>:iam::<account id>:role/<path/name>'),
      region: z
        .string()
        .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'must be an AWS region such as eu-west-1')
        .optional()
        .describe("The region the credentials are for (else the broker's AWS_REGION)"),
      session_duration_seconds: z
        .number()
        .int('must be a whole number of seconds')
        .min(MIN_SESSION_SECONDS, 'must be at least 900')
        .max(MAX_SESSION_SECONDS, 'must be at most 43200')
        .optional()
        .describe(
          "DurationSeconds of each session, 900–43200 (default 3600; at most the role's MaxSessionDuration)",
        ),
    })
    .strict(),
);

export type AwsConnectBody = z.infer<typeof awsConnectBody>;

const trustPolicyView = z
  .object({
    Version: z.literal('2012-10-17'),
    Statement: z.array(
      z.object({
        Sid: z.string(),
        Effect: z.literal('Allow'),
        Principal: z.object({ AWS: z.string() }),
        Action: z.literal('sts:AssumeRole'),
        Condition: z.object({
          StringEquals: z.object({ 'sts:ExternalId': z.string() }),
        }),
      }),
    ),
  })
  .describe('A trust policy document to attach to the role (IAM → Role → Trust relationships)');

/** GET /aws/external-id. */
export const awsExternalIdView = responseSchema(
  'AwsExternalId',
  z.object({
    external_id: z.string().meta({ example: 'cbk-0123456789abcdef0123456789abcdef' }),
    broker_principal_arn: z
      .string()
      .meta({ example: 'arn:aws:iam::111122223333:role/credential-broker' }),
    trust_policy: trustPolicyView,
  }),
);

export type AwsExternalIdView = z.output<typeof awsExternalIdView>;

/** GET /connections/:id/token of an AWS connection. */
export const awsCredentialsView = registerTokenView(
  responseSchema(
    'AwsCredentials',
    z.object({
      token_type: z.literal('aws_credentials'),
      access_key_id: z.string(),
      secret_access_key: z.string(),
      session_token: z.string(),
      expires_at: dateTimeString,
      region: z.string(),
    }),
  ),
);

/** `?format=credential_process`: what the AWS CLI and SDKs read from a credential_process command. */
export const awsCredentialProcessView = registerTokenView(
  responseSchema(
    'AwsCredentialProcess',
    z.object({
      Version: z.literal(1),
      AccessKeyId: z.string(),
      SecretAccessKey: z.string(),
      SessionToken: z.string(),
      Expiration: dateTimeString,
    }),
  ),
);

export type AwsCredentialsView = z.output<typeof awsCredentialsView>;
export type AwsCredentialProcessView = z.output<typeof awsCredentialProcessView>;
