import {
  SecretStoreError,
  SecretValue,
  type SecretData,
  type SecretRef,
  type SecretStore,
  type SecretStoreFailure,
  type SecretStoreHealth,
  type SecretStoreKindName,
  type WriteOptions,
} from '../../src/secrets/secret-store';

/**
 * The one in-memory `SecretStore` for unit tests. It keeps the port's rules as the real adapters
 * do (test/unit/secrets/secret-store.contract.ts runs against it): versions start at 1 and grow by
 * one, check-and-set fails with `SecretStoreError('cas_mismatch')`, destroy drops every version so
 * the path starts again at 1, `list` names what is directly under a prefix (folders end with `/`),
 * and a path with a `.` or `..` segment is `denied`. Paths are compared segment by segment, as the
 * adapters join them (`a//b` is `a/b`); the refs it returns carry the path as the caller wrote it.
 *
 * For tests it also shows every version of a path (`versions`) and can fail like a store that is
 * down (`failWith`).
 */
export class InMemorySecretStore implements SecretStore {
  readonly kind: SecretStoreKindName;
  readonly #paths = new Map<string, SecretData[]>();
  #failure: SecretStoreFailure | null = null;

  constructor(options: { kind?: SecretStoreKindName } = {}) {
    this.kind = options.kind ?? 'vault';
  }

  async read(path: string, version?: number): Promise<SecretValue | null> {
    const all = this.#versionsOf('read', path);
    const wanted = version ?? all.length;
    const data = Number.isInteger(wanted) && wanted >= 1 ? all[wanted - 1] : undefined;
    return data ? new SecretValue({ path, version: wanted }, data) : null;
  }

  async write(path: string, data: SecretData, options: WriteOptions = {}): Promise<SecretRef> {
    const all = this.#versionsOf('write', path);
    if (options.cas !== undefined && options.cas !== all.length) {
      throw new SecretStoreError(
        'cas_mismatch',
        `in-memory write of ${path}: version is not ${options.cas}`,
      );
    }
    all.push(Object.freeze({ ...data }));
    this.#paths.set(key(path), all);
    return { path, version: all.length };
  }

  async destroy(path: string): Promise<void> {
    this.#check('destroy');
    this.#paths.delete(key(path));
  }

  async list(prefix: string): Promise<string[]> {
    this.#check('list');
    const base = key(prefix);
    const head = base === '' ? '' : `${base}/`;
    const names = new Set<string>();
    for (const path of this.#paths.keys()) {
      if (!path.startsWith(head)) continue;
      const rest = path.slice(head.length);
      const slash = rest.indexOf('/');
      names.add(slash === -1 ? rest : rest.slice(0, slash + 1));
    }
    return [...names].sort();
  }

  async health(): Promise<SecretStoreHealth> {
    return this.#failure === null
      ? { ok: true, kind: this.kind }
      : { ok: false, kind: this.kind, reason: this.#failure, detail: 'in-memory store failing' };
  }

  /** Every version of `path`, oldest first (a copy); empty when the path does not exist. */
  versions(path: string): SecretData[] {
    return (this.#paths.get(key(path)) ?? []).map((data) => ({ ...data }));
  }

  /**
   * From now on every call fails with `SecretStoreError(reason)` and `health()` reports it, like an
   * unreachable (`unavailable`) or sealed Vault; `null` heals the store.
   */
  failWith(reason: SecretStoreFailure | null): void {
    this.#failure = reason;
  }

  #check(operation: string): void {
    if (this.#failure !== null) {
      throw new SecretStoreError(this.#failure, `in-memory secret store ${operation} failed`);
    }
  }

  #versionsOf(operation: string, path: string): SecretData[] {
    this.#check(operation);
    return this.#paths.get(key(path)) ?? [];
  }
}

/** The path as the adapters address it: its non-empty segments; `.` and `..` are refused. */
function key(path: string): string {
  const segments = path.split('/').filter((s) => s !== '');
  if (segments.some((s) => s === '.' || s === '..')) {
    throw new SecretStoreError('denied', `invalid secret path: ${path}`);
  }
  return segments.join('/');
}
