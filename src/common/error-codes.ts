/**
 * Every machine-readable error code the API can return, with its HTTP status and title.
 * This table is the single source: the problem+json filter renders from it and the OpenAPI
 * document lists it. Codes are stable; add new ones, never rename.
 */
export const ERROR_CODES = {
  validation_failed: { status: 400, title: 'The request is not valid' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  uri_too_long: { status: 414, title: 'The request URL is too long' },
  headers_too_large: { status: 431, title: 'The request headers are too large' },
  request_timeout: { status: 408, title: 'The request took too long to arrive' },
  unsupported_media_type: { status: 415, title: 'The request body must be JSON' },
  unauthenticated: { status: 401, title: 'Authentication is required' },
  forbidden: { status: 403, title: 'The caller may not do this' },
  csrf_rejected: {
    status: 403,
    title: "A request made with the session cookie must come from the broker's own pages",
  },
  login_not_allowed: { status: 403, title: 'This identity is not allowed to sign in' },
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  claim_not_found: {
    status: 404,
    title: 'No such claim, or it was used, has expired or belongs to another user',
  },
  provider_disabled: { status: 404, title: 'This provider is not enabled on this broker' },
  login_disabled: { status: 404, title: 'Sign-in is not enabled on this broker' },
  conflict: { status: 409, title: 'The request conflicts with the current state' },
  needs_reauth: { status: 409, title: 'The connection must be re-authorised by its owner' },
  rate_limited: { status: 429, title: 'Too many requests' },
  provider_unavailable: { status: 503, title: 'The provider could not be reached' },
  secret_store_unavailable: { status: 503, title: 'The secret store is unavailable' },
  service_unavailable: { status: 503, title: 'The service is not ready' },
  database_unavailable: { status: 503, title: 'The database is unavailable' },
  redis_unavailable: { status: 503, title: 'Redis is unavailable' },
  azure_invalid_credentials: { status: 401, title: 'Azure rejected the client id or secret' },
  azure_invalid_tenant: { status: 401, title: 'Azure does not know this tenant' },
  azure_no_enabled_subscription: {
    status: 422,
    title: 'The service principal sees no enabled subscription',
  },
  azure_subscription_not_found: {
    status: 422,
    title: 'The requested subscription is unknown or not enabled',
  },
  tailscale_invalid_credentials: { status: 401, title: 'Tailscale rejected the OAuth client' },
  tailscale_missing_scope: {
    status: 422,
    title: 'The Tailscale OAuth client lacks a required scope',
  },
  aws_assume_role_denied: {
    status: 422,
    title: "AWS refused to let the broker assume the role: check the role's trust policy",
  },
  aws_external_id_not_enforced: {
    status: 422,
    title: "The role's trust policy does not require the broker's external id",
  },
  aws_session_duration_too_long: {
    status: 422,
    title: "The session duration exceeds the role's maximum session duration",
  },
  internal_error: { status: 500, title: 'Internal error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export const ERROR_TYPE_BASE = 'https://credential-broker.dev/errors/';

export interface FieldError {
  path: string;
  message: string;
}

/**
 * The one exception type of the broker. `detail` is shown to the caller, so it must never hold a
 * secret or a raw provider body; `cause` is for logs only (and is redacted there).
 */
export class BrokerError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly detail?: string,
    readonly options: {
      errors?: FieldError[];
      cause?: unknown;
      headers?: Record<string, string>;
    } = {},
  ) {
    super(detail ?? ERROR_CODES[code].title, { cause: options.cause });
    this.name = 'BrokerError';
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }
}
