import { ProviderError } from '../../../../src/providers/provider';
import {
  parseRoleArn,
  sessionNameFor,
  trustablePrincipal,
} from '../../../../src/providers/aws/aws-arn';
import {
  classifyStsError,
  connectError,
  refreshError,
} from '../../../../src/providers/aws/aws-failures';
import { trustPolicy } from '../../../../src/providers/aws/aws-trust-policy';
import { newExternalId } from '../../../../src/providers/aws/aws-external-ids';
import { awsConnectBody } from '../../../../src/providers/aws/aws.schemas';

/** An error as @aws-sdk/client-sts throws it: `name` is the Query API's Code. */
const stsError = (name: string, status: number, message = name) =>
  Object.assign(new Error(message), { name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } }); // prettier-ignore

describe('AWS role ARNs', () => {
  it.each([
    ['arn:aws:iam::123456789012:role/deploy', { partition: 'aws', accountId: '123456789012', path: '/', name: 'deploy' }], // prettier-ignore
    ['arn:aws:iam::123456789012:role/team/ci/deploy+x=y,z.@-_', { path: '/team/ci/', name: 'deploy+x=y,z.@-_' }], // prettier-ignore
    ['arn:aws-cn:iam::123456789012:role/r', { partition: 'aws-cn' }],
    ['arn:aws-us-gov:iam::123456789012:role/r', { partition: 'aws-us-gov' }],
    ['arn:aws-iso-b:iam::123456789012:role/r', { partition: 'aws-iso-b' }],
  ])('accepts %s', (arn, parts) => {
    expect(parseRoleArn(arn)).toMatchObject({ arn, ...parts });
  });

  it.each([
    'arn:aws:iam::12345678901:role/short-account',
    'arn:aws:iam::123456789012:user/not-a-role',
    'arn:aws:sts::123456789012:assumed-role/r/s',
    'arn:aws:iam:us-east-1:123456789012:role/regional',
    'arn:aws:iam::123456789012:role/',
    'arn:aws:iam::123456789012:role/has space',
    `arn:aws:iam::123456789012:role/${'n'.repeat(65)}`,
    'arn:gcp:iam::123456789012:role/r',
    'role/deploy',
  ])('refuses %s', (arn) => {
    expect(parseRoleArn(arn)).toBeUndefined();
    expect(awsConnectBody.safeParse({ role_arn: arn }).success).toBe(false);
  });

  it('validates the connect body: duration 900–43200, a region, nothing else', () => {
    const role_arn = 'arn:aws:iam::123456789012:role/r';
    expect(awsConnectBody.safeParse({ role_arn }).success).toBe(true);
    expect(awsConnectBody.safeParse({ role_arn, session_duration_seconds: 900 }).success).toBe(true); // prettier-ignore
    expect(awsConnectBody.safeParse({ role_arn, session_duration_seconds: 43200 }).success).toBe(true); // prettier-ignore
    expect(awsConnectBody.safeParse({ role_arn, session_duration_seconds: 899 }).success).toBe(false); // prettier-ignore
    expect(awsConnectBody.safeParse({ role_arn, session_duration_seconds: 43201 }).success).toBe(false); // prettier-ignore
    expect(awsConnectBody.safeParse({ role_arn, session_duration_seconds: 1000.5 }).success).toBe(false); // prettier-ignore
    expect(awsConnectBody.safeParse({ role_arn, region: 'eu-west-1' }).success).toBe(true);
    expect(awsConnectBody.safeParse({ role_arn, region: 'Europe' }).success).toBe(false);
    expect(awsConnectBody.safeParse({ role_arn, external_id: 'x' }).success).toBe(false);
  });

  it('names the broker by its role, not by a session, in a trust policy', () => {
    expect(trustablePrincipal('arn:aws:sts::111111111111:assumed-role/broker/i-0abc')).toBe(
      'arn:aws:iam::111111111111:role/broker',
    );
    expect(trustablePrincipal('arn:aws:iam::111111111111:user/broker')).toBe(
      'arn:aws:iam::111111111111:user/broker',
    );
  });

  it('makes session names and external ids that STS accepts and that reveal no user', () => {
    expect(sessionNameFor('alice@example.com')).toMatch(/^cbk-[0-9a-f]{32}$/);
    expect(sessionNameFor('alice@example.com')).toBe(sessionNameFor('alice@example.com'));
    expect(sessionNameFor('alice@example.com')).not.toBe(sessionNameFor('bob@example.com'));
    expect(newExternalId()).toMatch(/^cbk-[0-9a-f]{32}$/);
    expect(newExternalId()).not.toBe(newExternalId());
  });
});

describe('the AWS trust policy', () => {
  it('lets the broker principal assume the role only with the external id', () => {
    expect(trustPolicy('arn:aws:iam::111111111111:role/broker', 'cbk-abc')).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'CredentialBrokerAssumeRole',
          Effect: 'Allow',
          Principal: { AWS: 'arn:aws:iam::111111111111:role/broker' },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'sts:ExternalId': 'cbk-abc' } },
        },
      ],
    });
  });
});

describe('STS failures', () => {
  const DURATION =
    'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.';

  it.each([
    [stsError('AccessDenied', 403), 'denied', 'aws_assume_role_denied', 422],
    [stsError('ValidationError', 400, DURATION), 'duration_too_long', 'aws_session_duration_too_long', 422], // prettier-ignore
    [stsError('ValidationError', 400, "Value at 'roleArn' failed"), 'invalid', 'validation_failed', 400], // prettier-ignore
    [stsError('ValidationError', 400, 'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.'), 'duration_too_long', 'aws_session_duration_too_long', 422], // prettier-ignore
    [stsError('SignatureDoesNotMatch', 403), 'broker_credentials', 'provider_unavailable', 503],
    [stsError('InvalidClientTokenId', 403), 'broker_credentials', 'provider_unavailable', 503],
    [stsError('Throttling', 400), 'transient', 'provider_unavailable', 503],
    [stsError('InternalFailure', 500), 'transient', 'provider_unavailable', 503],
    [stsError('ServiceUnavailable', 503), 'transient', 'provider_unavailable', 503],
    [Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'transient', 'provider_unavailable', 503], // prettier-ignore
  ])('%s → %s, connect answers %s', (err, failure, code, status) => {
    expect(classifyStsError(err).failure).toBe(failure);
    const answer = connectError(err);
    expect([answer.code, answer.status]).toEqual([code, status]);
    expect(answer.detail).not.toContain('ECONNREFUSED');
  });

  it('hints at the trust policy when AssumeRole is denied', () => {
    expect(connectError(stsError('AccessDenied', 403)).detail).toMatch(/trust policy.*external id/);
  });

  it.each([
    [stsError('AccessDenied', 403), 'permanent', 'aws_assume_role_denied'],
    [stsError('ValidationError', 400, DURATION), 'permanent', 'aws_session_duration_too_long'],
    [stsError('Throttling', 400), 'transient', 'provider_unavailable'],
    [stsError('InternalFailure', 500), 'transient', 'provider_unavailable'],
    [stsError('ExpiredToken', 400), 'transient', 'provider_unavailable'],
    [new Error('socket hang up'), 'transient', 'provider_unavailable'],
  ])('a refresh failing with %s is %s', (err, kind, reason) => {
    const failure = refreshError(err);
    expect(failure).toBeInstanceOf(ProviderError);
    expect([failure.kind, failure.reason]).toEqual([kind, reason]);
  });
});
