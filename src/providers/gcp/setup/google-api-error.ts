import { SetupStepError } from '../../setup-step';

/**
 * A failed Google Cloud API call, reduced to what is safe to keep: the HTTP status, Google's
 * status word (PERMISSION_DENIED, ABORTED…) and the permission named in a 403. The gaxios error
 * itself is dropped on purpose — it carries the request, Authorization header included.
 */
export class GoogleApiError extends Error {
  constructor(
    readonly operation: string,
    readonly status: number | undefined,
    readonly word: string | undefined,
    readonly permission: string | undefined,
  ) {
    super(
      `Google ${operation} failed: ${status ?? 'network'}${word ? ` ${word}` : ''}${
        permission ? ` (${permission})` : ''
      }`,
    );
    this.name = 'GoogleApiError';
  }

  get conflict(): boolean {
    return this.status === 409 || this.word === 'ABORTED';
  }
}

interface GaxiosLike {
  status?: unknown;
  code?: unknown;
  response?: { status?: unknown; data?: unknown };
}

/** Reduces whatever a googleapis call threw to a {@link GoogleApiError}. */
export function toGoogleApiError(operation: string, err: unknown): GoogleApiError {
  if (err instanceof GoogleApiError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as GaxiosLike;
  const status = typeof e.response?.status === 'number' ? e.response.status : undefined;
  const body = (e.response?.data ?? {}) as { error?: { status?: unknown; message?: unknown } };
  const word =
    typeof body.error?.status === 'string' && /^[A-Z_]{1,64}$/.test(body.error.status)
      ? body.error.status
      : undefined;
  const message = typeof body.error?.message === 'string' ? body.error.message : '';
  const permission = /Permission '([a-zA-Z0-9_.]{1,100})' denied/.exec(message)?.[1];
  return new GoogleApiError(operation, status, word, permission);
}

/**
 * The step error for a failed call. A 403 is final and names the roles the signed-in user lacks;
 * 401, 429, 5xx and network failures are retried by the job; other 4xx are final.
 */
export function toStepError(err: unknown, what: string, roles: string[]): SetupStepError {
  if (err instanceof SetupStepError) return err;
  const api = err instanceof GoogleApiError ? err : toGoogleApiError(what, err);
  const status = api.status;
  if (status === 403) {
    const permission = api.permission ? ` (${api.permission})` : '';
    return new SetupStepError(
      'gcp_permission_denied',
      `Google denied ${what}${permission}; the signed-in user needs ${roles.join(', ')}`,
      { retryable: false, result: { missing_roles: roles } },
    );
  }
  if (status === undefined || status === 401 || status === 429 || status >= 500) {
    return new SetupStepError(
      'gcp_unavailable',
      `Google did not complete ${what} (${status ?? 'network error'})`,
      { retryable: true },
    );
  }
  return new SetupStepError(
    'gcp_request_rejected',
    `Google rejected ${what} (${status}${api.word ? ` ${api.word}` : ''})`,
    { retryable: false },
  );
}
