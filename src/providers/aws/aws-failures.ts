import { BrokerError } from '../../common/error-codes';
import { ProviderError } from '../provider';

/**
 * What an STS failure means. The SDK throws a `ServiceException` whose `name` is the Query API's
 * error `Code` (AccessDenied 403, ValidationError 400, Throttling 400, InternalFailure 500…) with
 * `$metadata.httpStatusCode`; a network failure or timeout has no answer at all.
 */
export type StsFailure =
  /** The role's trust policy does not let the broker in (with these parameters). */
  | 'denied'
  /** DurationSeconds above the role's MaxSessionDuration (or role chaining's one hour). */
  | 'duration_too_long'
  /** STS refused the request's parameters otherwise (a role ARN it does not accept…). */
  | 'invalid'
  /** The broker's own AWS credentials were refused: the operator's problem, not the user's. */
  | 'broker_credentials'
  /** Throttling, 5xx, network, timeouts: may work later. */
  | 'transient';

const BROKER_CREDENTIAL_CODES = new Set([
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'ExpiredTokenException',
  'UnrecognizedClientException',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'CredentialsProviderError',
]);

export function stsErrorCode(err: unknown): { code: string; status?: number } {
  if (err === null || typeof err !== 'object') return { code: 'unknown' };
  const o = err as { name?: unknown; Code?: unknown; $metadata?: { httpStatusCode?: unknown } };
  const code =
    typeof o.Code === 'string' ? o.Code : typeof o.name === 'string' ? o.name : 'unknown';
  const status = o.$metadata?.httpStatusCode;
  return { code, status: typeof status === 'number' ? status : undefined };
}

export function classifyStsError(err: unknown): {
  failure: StsFailure;
  code: string;
  status?: number;
} {
  const { code, status } = stsErrorCode(err);
  const message = err instanceof Error ? err.message : '';
  let failure: StsFailure = 'transient';
  if (code === 'AccessDenied' || code === 'AccessDeniedException') failure = 'denied';
  else if (
    code === 'ValidationError' &&
    /DurationSeconds exceeds the (MaxSessionDuration|1 hour session limit)/i.test(message)
  )
    failure = 'duration_too_long';
  else if (code === 'ValidationError' || code === 'MalformedPolicyDocument') failure = 'invalid';
  else if (BROKER_CREDENTIAL_CODES.has(code)) failure = 'broker_credentials';
  return { failure, code, status };
}

export function isDenied(err: unknown): boolean {
  return classifyStsError(err).failure === 'denied';
}

/** What a failed AssumeRole means to a caller of POST /aws/connect. */
export function connectError(err: unknown): BrokerError {
  const { failure } = classifyStsError(err);
  switch (failure) {
    case 'denied':
      return new BrokerError(
        'aws_assume_role_denied',
        "AWS denied sts:AssumeRole: the role's trust policy must allow the broker's principal " +
          'with your external id (GET /aws/external-id gives both, and the policy to paste)',
      );
    case 'duration_too_long':
      return new BrokerError(
        'aws_session_duration_too_long',
        "session_duration_seconds exceeds the role's MaxSessionDuration: ask for less, or raise " +
          'the maximum session duration of the role (up to 12 hours)',
      );
    case 'invalid':
      return new BrokerError('validation_failed', 'AWS STS refused the request as invalid', {
        errors: [{ path: 'role_arn', message: 'was refused by AWS STS' }],
      });
    case 'broker_credentials':
      return new BrokerError(
        'provider_unavailable',
        "AWS refused the broker's own credentials; tell an operator",
        { cause: err },
      );
    case 'transient':
      // The cause is logged (redacted) by the problem filter; the caller sees no raw body.
      return new BrokerError('provider_unavailable', 'AWS STS could not be reached; try again', {
        cause: err,
      });
  }
}

/**
 * A refresh failure. Denied, an invalid request or a duration the role no longer allows can only
 * be mended by the user (needs_reauth); the broker's own credentials, throttling, 5xx and the
 * network may mend themselves (refresh_failing, with backoff).
 */
export function refreshError(err: unknown): ProviderError {
  const { failure, code, status } = classifyStsError(err);
  const permanent =
    failure === 'denied' || failure === 'duration_too_long' || failure === 'invalid';
  const reason =
    failure === 'denied'
      ? 'aws_assume_role_denied'
      : failure === 'duration_too_long'
        ? 'aws_session_duration_too_long'
        : failure === 'invalid'
          ? 'aws_invalid_request'
          : 'provider_unavailable';
  return new ProviderError(
    permanent ? 'permanent' : 'transient',
    reason,
    `AWS STS AssumeRole failed (${code}${status ? ` ${status}` : ''})`,
    { cause: err, status },
  );
}
