import { ProviderError } from '../provider';

/**
 * Google's OAuth error words that mean the grant or the broker's client is dead for good
 * (RFC 6749 §5.2 as Google uses it): no retry can help, the user must connect again.
 */
const PERMANENT_OAUTH_ERRORS = new Set(['invalid_grant', 'invalid_client', 'unauthorized_client']);

const TIMEOUT_CODES = new Set(['TimeoutError', 'AbortError', 'ETIMEDOUT', 'ESOCKETTIMEDOUT']);

/**
 * The shape of a gaxios error (what google-auth-library throws). Duck-typed rather than
 * `instanceof GaxiosError`: the tree holds more than one gaxios copy, and the broker does not
 * depend on gaxios directly.
 */
interface HttpClientError extends Error {
  config: unknown;
  code?: unknown;
  response?: { status: number; data: unknown };
}

function isHttpClientError(err: unknown): err is HttpClientError {
  return err instanceof Error && 'config' in err;
}

/** The `error` word of a Google OAuth error body (`{"error":"invalid_grant",...}`), if any. */
export function googleErrorWord(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const word = (data as { error?: unknown }).error;
  // Only a short machine word is kept; anything else is a body we do not repeat.
  return typeof word === 'string' && /^[a-z_]{1,64}$/.test(word) ? word : undefined;
}

/**
 * Turns whatever a Google call threw into a `ProviderError`: `permanent` for a dead grant or
 * client, `transient` for everything that may work later (network, timeouts, 429, 5xx, a garbled
 * answer). The message names the operation, the reason and the HTTP status only — never a token,
 * the request (gaxios errors carry the form with the client secret) or the raw body.
 */
export function classifyGoogleError(operation: string, err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  if (isHttpClientError(err)) {
    const status = err.response?.status;
    if (status === undefined) {
      const code = typeof err.code === 'string' ? err.code : err.name;
      const reason = TIMEOUT_CODES.has(code) ? 'timeout' : 'network';
      return new ProviderError('transient', reason, `Google ${operation} failed: ${reason}`);
    }
    const word = googleErrorWord(err.response?.data);
    if (word !== undefined && PERMANENT_OAUTH_ERRORS.has(word)) {
      return new ProviderError('permanent', word, `Google ${operation} failed: ${word}`, {
        status,
      });
    }
    const reason =
      status === 429
        ? 'rate_limited'
        : status === 408
          ? 'timeout'
          : status >= 500
            ? 'upstream_unavailable'
            : (word ?? 'upstream_rejected');
    return new ProviderError(
      'transient',
      reason,
      `Google ${operation} failed: ${reason} (HTTP ${status})`,
      { status },
    );
  }
  if (err instanceof Error && TIMEOUT_CODES.has(err.name)) {
    return new ProviderError('transient', 'timeout', `Google ${operation} failed: timeout`);
  }
  return new ProviderError('transient', 'network', `Google ${operation} failed: network`);
}
