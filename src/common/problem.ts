import { HttpException, HttpStatus } from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import {
  BrokerError,
  ERROR_CODES,
  ERROR_TYPE_BASE,
  type ErrorCode,
  type FieldError,
} from './error-codes';
import { isDatabaseUnavailable, isRedisUnavailable, isUnreachable } from './dependency-errors';

/** The problem+json body (RFC 9457) every error response carries. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  request_id: string;
  errors?: FieldError[];
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** Fastify's own error codes that mean "the client sent something bad", never a 500. */
const FASTIFY_CLIENT_ERRORS: Record<string, { code: ErrorCode; detail: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: {
    code: 'validation_failed',
    detail: 'The body is not valid JSON',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    code: 'validation_failed',
    detail: 'The body is empty but declared as JSON',
  },
  FST_ERR_CTP_BODY_TOO_LARGE: {
    code: 'payload_too_large',
    detail: 'The body is larger than the limit',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: 'unsupported_media_type',
    detail: 'Send the body as application/json',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    code: 'validation_failed',
    detail: 'Content-Length does not match the body',
  },
  FST_ERR_CTP_INVALID_TYPE: {
    code: 'unsupported_media_type',
    detail: 'The Content-Type header is not valid',
  },
  FST_ERR_BAD_URL: { code: 'validation_failed', detail: 'The URL is malformed' },
  FST_ERR_MAX_PARAM_LENGTH: {
    code: 'uri_too_long',
    detail: 'A path segment of the URL is longer than the limit',
  },
  FST_ERR_ASYNC_CONSTRAINT: { code: 'validation_failed', detail: 'The request is malformed' },
};

const STATUS_CODES: Partial<Record<number, ErrorCode>> = {
  [HttpStatus.BAD_REQUEST]: 'validation_failed',
  [HttpStatus.UNAUTHORIZED]: 'unauthenticated',
  [HttpStatus.FORBIDDEN]: 'forbidden',
  [HttpStatus.NOT_FOUND]: 'not_found',
  [HttpStatus.METHOD_NOT_ALLOWED]: 'method_not_allowed',
  [HttpStatus.PAYLOAD_TOO_LARGE]: 'payload_too_large',
  [HttpStatus.URI_TOO_LONG]: 'uri_too_long',
  431: 'headers_too_large',
  [HttpStatus.UNSUPPORTED_MEDIA_TYPE]: 'unsupported_media_type',
  [HttpStatus.TOO_MANY_REQUESTS]: 'rate_limited',
  [HttpStatus.SERVICE_UNAVAILABLE]: 'service_unavailable',
};

const HTTP_DETAILS: Partial<Record<number, string>> = {
  [HttpStatus.BAD_REQUEST]: 'The request is malformed (for example, the body is not valid JSON)',
  [HttpStatus.NOT_FOUND]: 'No such route',
  [HttpStatus.PAYLOAD_TOO_LARGE]: 'The body is larger than the limit',
  [HttpStatus.UNSUPPORTED_MEDIA_TYPE]: 'Send the body as application/json',
};

export interface ClassifiedError {
  code: ErrorCode;
  status: number;
  detail: string;
  errors?: FieldError[];
  headers?: Record<string, string>;
  /** True when the error is ours to fix (logged at error level with its stack). */
  unexpected: boolean;
}

/** Maps anything thrown to a stable code. Unknown errors become a bland 500 with no detail. */
/** How long a client should wait after a 503 that did not say (every 503 carries Retry-After). */
const DEFAULT_RETRY_AFTER_SECONDS = '5';
const DEPENDENCY_RETRY_AFTER_SECONDS = '2';

export function classifyError(err: unknown): ClassifiedError {
  const classified = classifyOnly(err);
  if (classified.status === 503 && !classified.headers?.['retry-after']) {
    return {
      ...classified,
      headers: { ...classified.headers, 'retry-after': DEFAULT_RETRY_AFTER_SECONDS },
    };
  }
  return classified;
}

function classifyOnly(err: unknown): ClassifiedError {
  if (isDatabaseUnavailable(err)) {
    return {
      code: 'database_unavailable',
      status: 503,
      detail: 'The database is unavailable; try again shortly',
      headers: { 'retry-after': DEPENDENCY_RETRY_AFTER_SECONDS },
      unexpected: false,
    };
  }
  if (isRedisUnavailable(err)) {
    return {
      code: 'redis_unavailable',
      status: 503,
      detail: 'Redis is unavailable; try again shortly',
      headers: { 'retry-after': DEPENDENCY_RETRY_AFTER_SECONDS },
      unexpected: false,
    };
  }
  if (isUnreachable(err)) {
    return {
      code: 'service_unavailable',
      status: 503,
      detail: 'A dependency of the broker cannot be reached; try again shortly',
      headers: { 'retry-after': DEPENDENCY_RETRY_AFTER_SECONDS },
      unexpected: false,
    };
  }
  if (err instanceof BrokerError) {
    return {
      code: err.code,
      status: err.status,
      detail: err.detail ?? ERROR_CODES[err.code].title,
      errors: err.options.errors,
      headers: err.options.headers,
      unexpected: err.status >= 500 && err.code === 'internal_error',
    };
  }
  if (err instanceof ThrottlerException) {
    return {
      code: 'rate_limited',
      status: 429,
      detail: 'Too many requests; slow down and retry later',
      unexpected: false,
    };
  }
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const code = STATUS_CODES[status] ?? (status >= 500 ? 'internal_error' : 'validation_failed');
    // Fastify's own errors arrive here as HttpExceptions; their messages can quote the body, so
    // only fixed texts are shown.
    const detail = HTTP_DETAILS[status] ?? ERROR_CODES[code].title;
    return { code, status: ERROR_CODES[code].status, detail, unexpected: status >= 500 };
  }
  const fastifyCode = (err as { code?: unknown } | null)?.code;
  if (typeof fastifyCode === 'string' && fastifyCode in FASTIFY_CLIENT_ERRORS) {
    const known = FASTIFY_CLIENT_ERRORS[fastifyCode];
    return {
      code: known.code,
      status: ERROR_CODES[known.code].status,
      detail: known.detail,
      unexpected: false,
    };
  }
  const statusCode = (err as { statusCode?: unknown } | null)?.statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    const code = STATUS_CODES[statusCode] ?? 'validation_failed';
    return {
      code,
      status: ERROR_CODES[code].status,
      detail: ERROR_CODES[code].title,
      unexpected: false,
    };
  }
  return {
    code: 'internal_error',
    status: 500,
    detail: 'An unexpected error occurred',
    unexpected: true,
  };
}

export function toProblem(c: ClassifiedError, requestId: string): Problem {
  return {
    type: `${ERROR_TYPE_BASE}${c.code}`,
    title: ERROR_CODES[c.code].title,
    status: c.status,
    detail: c.detail,
    code: c.code,
    request_id: requestId,
    ...(c.errors && c.errors.length > 0 ? { errors: c.errors } : {}),
  };
}
