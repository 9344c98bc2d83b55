import { ConnectionEntity } from '../../src/database/entities';
import { Redis } from 'ioredis';
import { type BrokerHarness, REDIS_URL } from './broker';
import { seedConnections } from './seed';
import { type FakeGoogle } from '../fakes/google/fake-google';

/** Where the broker's Vault adapter keeps a connection path (`<mount>/<prefix>/<path>`). */
export const KV_MOUNT = 'secret';
export const KV_PREFIX = 'credential-broker';

const GCP_SCOPES = [
  'openid',
  'https://www.googleapis.com/auth/userinfo.email',
  'https://www.googleapis.com/auth/cloud-platform',
];

export interface SeededGcp {
  connection: ConnectionEntity;
  accessToken: string;
  refreshToken: string;
}

/**
 * A GCP connection as a finished connect leaves it, without the browser dance: a grant in the
 * Google emulator (its refresh token works there), the token set as version 1 in the fake Vault,
 * and the row in Postgres with the given expiry.
 */
export async function seedGcpConnection(
  broker: BrokerHarness,
  google: FakeGoogle,
  options: { userId: string; expiresInSeconds: number },
): Promise<SeededGcp> {
  const [row] = await seedConnections(broker.dataSource, [
    {
      userId: options.userId,
      provider: 'gcp',
      expiresAt: new Date(Date.now() + options.expiresInSeconds * 1000),
    },
  ]);
  const grant = {
    clientId: google.clientId,
    account: { sub: `sub-${row.id}`, email: `${row.id}@example.com` },
    scopes: GCP_SCOPES,
    revoked: false,
  };
  const refreshToken = google.grants.newRefreshToken(grant);
  const accessToken = google.grants.newAccessToken(grant, Math.max(options.expiresInSeconds, 1));
  const write = broker.vault.kv.write(KV_MOUNT, kvPath(row.vaultPath), {
    access_token: accessToken,
    refresh_token: refreshToken,
    token_type: 'Bearer',
    scope: GCP_SCOPES.join(' '),
    expires_at: row.expiresAt?.toISOString() ?? '',
  });
  if (!write.ok || write.version !== 1) throw new Error('seeding the fake Vault failed');
  await broker.dataSource
    .getRepository(ConnectionEntity)
    .update({ id: row.id }, { scopes: GCP_SCOPES });
  return { connection: { ...row, scopes: GCP_SCOPES }, accessToken, refreshToken };
}

export function kvPath(vaultPath: string): string {
  return `${KV_PREFIX}/${vaultPath}`;
}

/** The refresh_token grants the emulator received for one refresh token. */
export function refreshCalls(google: FakeGoogle, refreshToken?: string): number {
  return google.calls.filter(
    (c) =>
      c.path === '/token' &&
      c.form.grant_type === 'refresh_token' &&
      (refreshToken === undefined || c.form.refresh_token === refreshToken),
  ).length;
}

export async function connectionRow(broker: BrokerHarness, id: string): Promise<ConnectionEntity> {
  return broker.dataSource.getRepository(ConnectionEntity).findOneOrFail({ where: { id } });
}

export async function setRow(
  broker: BrokerHarness,
  id: string,
  changes: Partial<Pick<ConnectionEntity, 'expiresAt' | 'nextAttemptAt' | 'status'>>,
): Promise<void> {
  await broker.dataSource.getRepository(ConnectionEntity).update({ id }, changes);
  // Like every writer of a connection row, tell the api's row caches (ConnectionChanges).
  const redis = new Redis(REDIS_URL);
  try {
    await redis.publish(`${broker.redisPrefix}:connection-changes`, id);
  } finally {
    redis.disconnect();
  }
}

/** Polls `check` every 100 ms until it holds or `timeoutMs` passes. */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 10_000,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

export interface TokenBody {
  access_token: string;
  token_type: string;
  expires_at: string;
  scope: string;
}
