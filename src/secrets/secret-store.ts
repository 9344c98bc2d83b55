import { BrokerError } from '../common/error-codes';

/**
 * The secret store port. Adapters: `vault/` (HashiCorp Vault KV v2, the default and the only one
 * allowed in production) and `local/` (AES-256-GCM rows in Postgres, for a laptop).
 *
 * Paths are relative to the configured prefix (`VAULT_PATH_PREFIX`), e.g. `connections/<uuid>`.
 * Versions start at 1 and only grow; a version, once written, never changes. Destroying a path
 * starts it again at 1, so `(path, version)` is a safe cache key only for paths that are never
 * reused after a destroy — true of connection paths, which carry the connection's UUID.
 */

/** What Postgres keeps about a secret: where it is and which version is current. */
export interface SecretRef {
  path: string;
  version: number;
}

/** Secret values: a flat map of strings. */
export type SecretData = Record<string, string>;

/**
 * A secret read from the store. The values are reachable through `reveal()` only; serialising or
 * inspecting the object (JSON.stringify, a logger, util.inspect) prints no value.
 */
export class SecretValue {
  readonly #data: SecretData;

  constructor(
    readonly ref: SecretRef,
    data: SecretData,
  ) {
    this.#data = Object.freeze({ ...data });
  }

  reveal(): SecretData {
    return this.#data;
  }

  toJSON(): { ref: SecretRef; data: '[redacted]' } {
    return { ref: this.ref, data: '[redacted]' };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `SecretValue(${this.ref.path}@${this.ref.version}, [redacted])`;
  }
}

export interface WriteOptions {
  /**
   * Check-and-set: the version the caller last read. 0 means "the path must not exist yet".
   * The write fails with `SecretStoreError('cas_mismatch')` when the current version differs.
   * Omitted: write unconditionally.
   */
  cas?: number;
}

export type SecretStoreHealth =
  | { ok: true; kind: SecretStoreKindName; detail?: string }
  | { ok: false; kind: SecretStoreKindName; reason: SecretStoreFailure; detail: string };

export type SecretStoreKindName = 'vault' | 'local';

export type SecretStoreFailure =
  | 'unavailable' // cannot reach the store, timeouts, 5xx
  | 'sealed' // Vault is sealed or not initialised
  | 'denied' // the broker's token/AppRole lacks permission, or login failed
  | 'cas_mismatch' // check-and-set lost to another writer
  | 'corrupt'; // stored data cannot be decoded/decrypted

/** The one error adapters throw. Its message never carries a secret value or token. */
export class SecretStoreError extends Error {
  constructor(
    readonly reason: SecretStoreFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SecretStoreError';
  }
}

export interface SecretStore {
  readonly kind: SecretStoreKindName;

  /** The latest version, or the given one; `null` when the path (or that version) does not exist or is destroyed. */
  read(path: string, version?: number): Promise<SecretValue | null>;

  /** Writes a new version and returns its ref. */
  write(path: string, data: SecretData, options?: WriteOptions): Promise<SecretRef>;

  /** Destroys every version and the metadata of `path`. Destroying a missing path is not an error. */
  destroy(path: string): Promise<void>;

  /** Names directly under `prefix` (folders end with `/`), like Vault's LIST. */
  list(prefix: string): Promise<string[]>;

  /** Readiness probe: reachable, unsealed, and the broker's credentials work. Never throws. */
  health(): Promise<SecretStoreHealth>;

  /** Starts background work (Vault token renewal) — called once at boot. */
  start?(): Promise<void>;

  /** Stops background work. */
  stop?(): Promise<void>;
}

export const SECRET_STORE = Symbol('SECRET_STORE');

/** The one problem for a secret store that cannot be reached (503 `secret_store_unavailable`). */
export function secretStoreUnavailable(cause: unknown): BrokerError {
  return new BrokerError(
    'secret_store_unavailable',
    'The secret store is unavailable; try again later',
    { cause },
  );
}
