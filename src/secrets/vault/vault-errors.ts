import { redactString } from '../../common/redaction';
import { SecretStoreError, type SecretStoreFailure } from '../secret-store';
import { VaultTransportError } from './vault-transport';

/** A Vault HTTP answer that was not a success, reduced to what is safe to keep. */
export class VaultHttpError extends Error {
  constructor(
    readonly status: number,
    readonly errors: string[],
  ) {
    super(`Vault answered ${status}${errors.length > 0 ? `: ${errors.join('; ')}` : ''}`);
    this.name = 'VaultHttpError';
  }
}

/**
 * Reduces whatever node-vault rejected with to an error that holds no request options, headers
 * or bodies: node-vault's ApiResponseError keeps the whole response body, which for KV can hold
 * secret values.
 */
export function sanitiseVaultError(err: unknown): Error {
  if (err instanceof VaultTransportError || err instanceof VaultHttpError) return err;
  if (err instanceof SecretStoreError) return err;
  const response = (err as { response?: { statusCode?: unknown; body?: unknown } } | null)
    ?.response;
  if (response && typeof response.statusCode === 'number') {
    return new VaultHttpError(response.statusCode, vaultErrorMessages(response.body));
  }
  // tv4 validation errors and anything unforeseen: keep the type name only.
  const name = err instanceof Error ? err.name : typeof err;
  return new Error(`Vault client error (${name})`);
}

function vaultErrorMessages(body: unknown): string[] {
  const errors = (body as { errors?: unknown } | null | undefined)?.errors;
  if (!Array.isArray(errors)) return [];
  return errors
    .filter((e): e is string => typeof e === 'string')
    .map((e) => redactString(e).slice(0, 200));
}

export function statusOf(err: Error): number | undefined {
  return err instanceof VaultHttpError ? err.status : undefined;
}

export function isCasMismatch(err: Error): boolean {
  return (
    err instanceof VaultHttpError &&
    err.status === 400 &&
    err.errors.some((e) => e.includes('check-and-set parameter did not match'))
  );
}

/** The port's failure reason for a sanitised Vault error. */
export function failureOf(err: Error): SecretStoreFailure {
  if (err instanceof SecretStoreError) return err.reason;
  if (err instanceof VaultTransportError) return 'unavailable';
  if (!(err instanceof VaultHttpError)) return 'unavailable';
  if (isCasMismatch(err)) return 'cas_mismatch';
  if (err.status === 501) return 'sealed'; // not initialised
  if (err.status === 503 && err.errors.some((e) => /sealed/i.test(e))) return 'sealed';
  if (err.status === 403 || err.status === 401) return 'denied';
  return 'unavailable';
}

/** Wraps a Vault failure for callers: a clean message naming the operation, the cause stripped. */
export function toSecretStoreError(operation: string, err: unknown): SecretStoreError {
  const clean = sanitiseVaultError(err);
  if (clean instanceof SecretStoreError) return clean;
  const reason = failureOf(clean);
  return new SecretStoreError(reason, `Vault ${operation} failed (${reason}): ${clean.message}`, {
    cause: clean,
  });
}
