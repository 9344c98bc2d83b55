import { randomUUID } from 'node:crypto';
import { type DataSource } from 'typeorm';
import { ConnectionEntity } from '../../src/database/entities';
import { type ConnectionStatus, type Provider } from '../../src/database/enums';

export interface SeedConnection {
  userId: string;
  provider?: Provider;
  status?: ConnectionStatus;
  accountRef?: string;
  createdAt?: Date;
  expiresAt?: Date | null;
  metadata?: Record<string, unknown>;
}

/** Inserts connection rows directly: the read API needs no provider to be tested. */
export async function seedConnections(
  ds: DataSource,
  rows: SeedConnection[],
): Promise<ConnectionEntity[]> {
  const repo = ds.getRepository(ConnectionEntity);
  const saved: ConnectionEntity[] = [];
  for (const row of rows) {
    const id = randomUUID();
    saved.push(
      await repo.save(
        repo.create({
          id,
          userId: row.userId,
          provider: row.provider ?? 'gcp',
          accountRef: row.accountRef ?? `${id}@example.com`,
          displayName: null,
          status: row.status ?? 'active',
          setupStatus: 'succeeded',
          scopes: ['openid', 'email'],
          expiresAt: row.expiresAt === undefined ? new Date(Date.now() + 3600_000) : row.expiresAt,
          metadata: row.metadata ?? { email: row.accountRef ?? 'someone@example.com' },
          vaultPath: `connections/${id}`,
          vaultVersion: 1,
          ...(row.createdAt ? { createdAt: row.createdAt } : {}),
        }),
      ),
    );
  }
  return saved;
}
