import { BrokerError } from '../../common/error-codes';
import { ProviderError } from '../provider';
import { TailscaleApiError } from './tailscale-client';

/**
 * What a Tailscale failure means to a caller of POST /tailscale/connect. The token endpoint answers
 * a wrong client id or secret with 400/401 (`invalid_client`); the API answers a revoked token
 * with 401 and a token without the needed scope with 403.
 */
export function connectError(err: unknown, step: 'token' | 'devices'): BrokerError {
  const status = err instanceof TailscaleApiError ? err.status : 0;
  if (
    (step === 'token' && (status === 400 || status === 401 || status === 403)) ||
    status === 401
  ) {
    return new BrokerError(
      'tailscale_invalid_credentials',
      'Tailscale rejected the OAuth client id or secret',
    );
  }
  if (step === 'devices' && status === 403) {
    return new BrokerError(
      'tailscale_missing_scope',
      'The OAuth client cannot list devices: give it the devices:core (read) scope',
    );
  }
  if (step === 'devices' && status === 404) {
    return new BrokerError('validation_failed', 'Tailscale does not know this tailnet', {
      errors: [{ path: 'tailnet', message: 'unknown tailnet' }],
    });
  }
  return new BrokerError('provider_unavailable', 'Tailscale could not be reached; try again', {
    cause: err,
  });
}

/** A refresh failure: the client is dead (401, or 400 invalid_client at the token endpoint) or not. */
export function refreshError(err: unknown): ProviderError {
  const status = err instanceof TailscaleApiError ? err.status : 0;
  if (status === 400 || status === 401) {
    return new ProviderError('permanent', 'tailscale_invalid_credentials', `tailscale token request refused (${status})`, { status }); // prettier-ignore
  }
  return new ProviderError('transient', 'provider_unavailable', `tailscale token request failed (${status || 'no response'})`, { cause: err, status }); // prettier-ignore
}
