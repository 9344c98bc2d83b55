import { createHash, timingSafeEqual } from 'node:crypto';
import { type Repository } from 'typeorm';
import { type OAuthClientEntity } from '../../database/entities';

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/** Presented secret vs the stored SHA-256, in constant time. */
export function secretMatchesHash(presented: string, hash: string): boolean {
  const a = Buffer.from(sha256(presented), 'hex');
  const b = Buffer.from(hash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * oidc-provider's `Client` model on Postgres: registrations must outlive a Redis flush. A
 * client secret (of an admin's service client, or a confidential dynamic registration) is kept
 * as its SHA-256 only: the library gets the hash as `client_secret` and compares a presented
 * secret through {@link secretMatchesHash} (see authorization-server.ts).
 */
export function postgresClientAdapter(clients: Repository<OAuthClientEntity>) {
  return {
    async upsert(id: string, payload: Record<string, unknown>): Promise<void> {
      const { client_secret: secret, ...metadata } = payload;
      await clients.save({
        clientId: id,
        kind: 'dynamic',
        metadata,
        secretHash: typeof secret === 'string' ? sha256(secret) : null,
      });
    },
    async find(id: string): Promise<Record<string, unknown> | undefined> {
      const row = await clients.findOneBy({ clientId: id });
      if (!row) return undefined;
      return {
        ...row.metadata,
        client_id: row.clientId,
        ...(row.secretHash ? { client_secret: row.secretHash } : {}),
      };
    },
    async destroy(id: string): Promise<void> {
      await clients.delete({ clientId: id });
    },
    async consume(): Promise<void> {},
    async findByUid(): Promise<undefined> {
      return undefined;
    },
    async findByUserCode(): Promise<undefined> {
      return undefined;
    },
    async revokeByGrantId(): Promise<void> {},
  };
}
