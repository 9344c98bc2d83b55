import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import type { AppConfig } from '../../config/config';
import { LocalSecretEntity } from '../../database/entities/local-secret.entity';
import {
  SecretStoreError,
  SecretValue,
  type SecretData,
  type SecretRef,
  type SecretStore,
  type SecretStoreHealth,
  type WriteOptions,
} from '../secret-store';

export type LocalStoreConfig = Extract<AppConfig['secretStore'], { kind: 'local' }>;

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/**
 * The laptop secret store: AES-256-GCM rows in `local_secrets`. Each write has its own random
 * nonce; the full path is the associated data, so a row copied to another path (another
 * connection) does not decrypt. Refused in production, where Vault is the only store.
 */
export class LocalSecretStore implements SecretStore {
  readonly kind = 'local' as const;

  constructor(
    private readonly config: LocalStoreConfig,
    env: AppConfig['env'],
    private readonly dataSource: DataSource,
  ) {
    if (env === 'production') {
      throw new Error(
        'The local secret store is refused when NODE_ENV=production: set VAULT_ADDR (SECRET_STORE=vault)',
      );
    }
    if (config.key.length !== 32) {
      throw new Error(`LOCAL_SECRET_KEY must be 32 bytes (base64), got ${config.key.length}`);
    }
  }

  async read(path: string, version?: number): Promise<SecretValue | null> {
    const full = this.fullPath(path);
    const row = await this.guard('read', () =>
      this.dataSource.getRepository(LocalSecretEntity).findOne({
        where: version === undefined ? { path: full } : { path: full, version },
        order: { version: 'DESC' },
      }),
    );
    if (!row) return null;
    return new SecretValue({ path, version: row.version }, this.decrypt(row));
  }

  async write(path: string, data: SecretData, options: WriteOptions = {}): Promise<SecretRef> {
    const full = this.fullPath(path);
    const plaintext = Buffer.from(JSON.stringify(data), 'utf8');
    return this.guard('write', () =>
      this.dataSource.transaction(async (manager) => {
        await lockPath(manager, full);
        const repo = manager.getRepository(LocalSecretEntity);
        const current = (await repo.maximum('version', { path: full })) ?? 0;
        if (options.cas !== undefined && options.cas !== current) {
          throw new SecretStoreError(
            'cas_mismatch',
            `local write of ${path}: version is not ${options.cas}`,
          );
        }
        const version = current + 1;
        const nonce = randomBytes(NONCE_BYTES);
        const cipher = createCipheriv('aes-256-gcm', this.config.key, nonce);
        cipher.setAAD(associatedData(full, version));
        const ciphertext = Buffer.concat([
          cipher.update(plaintext),
          cipher.final(),
          cipher.getAuthTag(),
        ]);
        await repo.insert({ path: full, version, nonce, ciphertext });
        return { path, version };
      }),
    );
  }

  async destroy(path: string): Promise<void> {
    const full = this.fullPath(path);
    await this.guard('destroy', () =>
      this.dataSource.transaction(async (manager) => {
        await lockPath(manager, full); // so a concurrent write cannot slip a version in half-way
        await manager.getRepository(LocalSecretEntity).delete({ path: full });
      }),
    );
  }

  async list(prefix: string): Promise<string[]> {
    const base = this.fullPath(prefix);
    const head = base === '' ? '' : `${base}/`;
    const rows = await this.guard('list', () =>
      this.dataSource
        .getRepository(LocalSecretEntity)
        .createQueryBuilder('s')
        .select('DISTINCT s.path', 'path')
        .where(`s.path LIKE :pattern ESCAPE '\\'`, { pattern: `${escapeLike(head)}%` })
        .getRawMany<{ path: string }>(),
    );
    const names = new Set<string>();
    for (const { path } of rows) {
      const rest = path.slice(head.length);
      const slash = rest.indexOf('/');
      names.add(slash === -1 ? rest : rest.slice(0, slash + 1));
    }
    return [...names].sort();
  }

  async health(): Promise<SecretStoreHealth> {
    try {
      await this.dataSource.query('SELECT 1 FROM local_secrets LIMIT 1');
      return { ok: true, kind: 'local' };
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      return {
        ok: false,
        kind: 'local',
        reason: 'unavailable',
        detail: `local_secrets is not readable${typeof code === 'string' ? ` (${code})` : ''}`,
      };
    }
  }

  private decrypt(row: LocalSecretEntity): SecretData {
    try {
      if (row.nonce.length !== NONCE_BYTES || row.ciphertext.length < TAG_BYTES)
        throw new Error('short');
      const body = row.ciphertext.subarray(0, row.ciphertext.length - TAG_BYTES);
      const decipher = createDecipheriv('aes-256-gcm', this.config.key, row.nonce);
      decipher.setAAD(associatedData(row.path, row.version));
      decipher.setAuthTag(row.ciphertext.subarray(row.ciphertext.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
      return toSecretData(JSON.parse(plain));
    } catch {
      // No cause: a decryption or parse error could quote plaintext.
      throw new SecretStoreError(
        'corrupt',
        `local secret ${row.path}@${row.version} cannot be decrypted`,
      );
    }
  }

  private fullPath(path: string): string {
    const segments = [...this.config.pathPrefix.split('/'), ...path.split('/')].filter(
      (s) => s !== '',
    );
    if (segments.some((s) => s === '.' || s === '..')) {
      throw new SecretStoreError('denied', `invalid secret path: ${path}`);
    }
    return segments.join('/');
  }

  /** Database failures become `unavailable`, without TypeORM's query parameters (ciphertext). */
  private async guard<T>(operation: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof SecretStoreError) throw err;
      const code = (err as { code?: unknown }).code;
      const cause = new Error(
        `${operation}: ${typeof code === 'string' ? code : 'database error'}`,
      );
      throw new SecretStoreError('unavailable', `local secret store ${operation} failed`, {
        cause,
      });
    }
  }
}

/** Serialises writers of one path for the rest of the transaction: same cas, exactly one winner. */
async function lockPath(manager: EntityManager, fullPath: string): Promise<void> {
  await manager.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
    `local_secrets:${fullPath}`,
  ]);
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function toSecretData(value: unknown): SecretData {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('shape');
  const out: SecretData = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== 'string') throw new Error('shape');
    out[k] = v;
  }
  return out;
}

/**
 * Binds a ciphertext to its path (which holds the connection id) and version: a row copied to
 * another connection, or an old version swapped in for a newer one, does not decrypt.
 */
function associatedData(path: string, version: number): Buffer {
  return Buffer.from(`${path}@${version}`, 'utf8');
}
