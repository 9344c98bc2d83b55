import 'reflect-metadata';
import { randomBytes, randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { createDataSource } from '../../../src/database/data-source';
import { LocalSecretEntity } from '../../../src/database/entities/local-secret.entity';
import {
  LocalSecretStore,
  type LocalStoreConfig,
} from '../../../src/secrets/local/local-secret-store';
import { createTestDatabase, type TestDatabase } from '../../support/postgres';
import { describeSecretStoreContract, expectReason } from './secret-store.contract';

let db: TestDatabase;
let dataSource: DataSource;
const config: LocalStoreConfig = {
  kind: 'local',
  key: randomBytes(32),
  pathPrefix: 'credential-broker',
};

beforeAll(async () => {
  db = await createTestDatabase();
  dataSource = createDataSource(db.url);
  await dataSource.initialize();
});

afterAll(async () => {
  await dataSource?.destroy();
  await db?.drop();
});

describeSecretStoreContract('local', async () => new LocalSecretStore(config, 'test', dataSource));

describe('LocalSecretStore', () => {
  const rows = () => dataSource.getRepository(LocalSecretEntity);
  const store = () => new LocalSecretStore(config, 'development', dataSource);

  it('refuses to run in production', () => {
    expect(() => new LocalSecretStore(config, 'production', dataSource)).toThrow(
      /NODE_ENV=production/,
    );
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(
      () => new LocalSecretStore({ ...config, key: randomBytes(16) }, 'test', dataSource),
    ).toThrow(/32 bytes/);
  });

  it('stores ciphertext only, under the prefixed path, with a fresh nonce on every write', async () => {
    const path = `connections/${randomUUID()}`;
    const secret = `tok-${randomUUID()}`;
    for (let i = 0; i < 5; i++) await store().write(path, { access_token: secret });
    const stored = await rows().find({ where: { path: `credential-broker/${path}` } });
    expect(stored).toHaveLength(5);
    expect(new Set(stored.map((r) => r.nonce.toString('hex'))).size).toBe(5);
    for (const r of stored) {
      expect(r.nonce).toHaveLength(12);
      expect(r.ciphertext.toString('latin1')).not.toContain(secret);
    }
  });

  it('reports a row whose ciphertext was altered as corrupt', async () => {
    const path = `connections/${randomUUID()}`;
    await store().write(path, { access_token: 'original' });
    const full = `credential-broker/${path}`;
    const row = await rows().findOneByOrFail({ path: full, version: 1 });
    row.ciphertext[0] ^= 0xff;
    await rows().update({ path: full, version: 1 }, { ciphertext: row.ciphertext });
    const err = await expectReason(store().read(path), 'corrupt');
    expect(err.message).not.toContain('original');
  });

  it('reports a row moved to another path (another connection) as corrupt', async () => {
    const victim = `connections/${randomUUID()}`;
    const attacker = `connections/${randomUUID()}`;
    await store().write(victim, { access_token: 'victim-token' });
    await rows().update(
      { path: `credential-broker/${victim}` },
      { path: `credential-broker/${attacker}` },
    );
    await expectReason(store().read(attacker), 'corrupt');
  });

  it('reports a wrong key as corrupt', async () => {
    const path = `connections/${randomUUID()}`;
    await store().write(path, { access_token: 'x' });
    const other = new LocalSecretStore({ ...config, key: randomBytes(32) }, 'test', dataSource);
    await expectReason(other.read(path), 'corrupt');
  });

  it('rejects paths that climb out of the prefix', async () => {
    await expectReason(store().write('../elsewhere', { a: 'b' }), 'denied');
  });
});
