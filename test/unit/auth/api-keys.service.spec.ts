import { type DataSource } from 'typeorm';
import { ApiKeysService, hashApiKey } from '../../../src/auth/api-keys.service';
import { BrokerError } from '../../../src/common/error-codes';
import { ApiKeyEntity } from '../../../src/database/entities/api-key.entity';
import { FakeClock } from '../../support/fake-clock';
import { type TestDataSource, openTestDataSource } from '../../support/postgres';

describe('ApiKeysService', () => {
  let db: TestDataSource;
  let ds: DataSource;
  let clock: FakeClock;
  let service: ApiKeysService;

  beforeAll(async () => {
    db = await openTestDataSource();
    ds = db.ds;
  });
  afterAll(async () => {
    await db.close();
  });
  beforeEach(() => {
    clock = new FakeClock({ start: new Date('2026-01-01T12:00:00.000Z') });
    service = new ApiKeysService(ds.getRepository(ApiKeyEntity), clock);
  });

  it('creates a key that authenticates', async () => {
    const { key, apiKey } = await service.create('billing', ['tokens:read', 'connections:read']);
    expect(key).toMatch(/^cbk_[A-Za-z0-9_-]{43}$/);
    expect(apiKey.prefix).toBe(key.slice(0, 12));
    expect(apiKey.scopes).toEqual(['connections:read', 'tokens:read']);
    const row = await service.authenticate(key);
    expect(row?.id).toBe(apiKey.id);
    expect(row?.scopes).toEqual(['connections:read', 'tokens:read']);
  });

  it('makes a different key every time', async () => {
    const a = await service.create('a', ['admin']);
    const b = await service.create('b', ['admin']);
    expect(a.key).not.toBe(b.key);
  });

  it('stores only the SHA-256 of the key: the key is in no column', async () => {
    const { key, apiKey } = await service.create('stored', ['connections:write']);
    const rows: { row: string; key_hash: string }[] = await ds.query(
      'SELECT k::text AS row, key_hash FROM api_keys k WHERE id = $1',
      [apiKey.id],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].key_hash).toBe(hashApiKey(key));
    expect(rows[0].key_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[0].row).not.toContain(key);
    expect(rows[0].row).not.toContain(key.slice(12)); // the secret part, beyond the prefix
  });

  it('refuses unknown, malformed and revoked keys', async () => {
    const { key, apiKey } = await service.create('revokable', ['connections:read']);
    expect(await service.authenticate(`cbk_${'A'.repeat(43)}`)).toBeNull();
    expect(await service.authenticate(key.slice(0, -1))).toBeNull();
    expect(await service.authenticate(`${key}x`)).toBeNull();
    expect(await service.authenticate('')).toBeNull();

    const revoked = await service.revoke(apiKey.id);
    expect(revoked.outcome).toBe('revoked');
    expect(await service.authenticate(key)).toBeNull();
    expect((await service.revoke(apiKey.id)).outcome).toBe('already_revoked');
  });

  it('revokes by prefix, and says when nothing or several keys match', async () => {
    const { key, apiKey } = await service.create('by-prefix', ['connections:read']);
    const result = await service.revoke(apiKey.prefix);
    expect(result).toMatchObject({ outcome: 'revoked', key: { id: apiKey.id } });
    expect(await service.authenticate(key)).toBeNull();
    expect(await service.revoke('cbk_nothing1')).toEqual({ outcome: 'not_found' });
    expect(await service.revoke('00000000-0000-4000-8000-000000000000')).toEqual({
      outcome: 'not_found',
    });

    const twins = ds.getRepository(ApiKeyEntity);
    for (const name of ['twin-1', 'twin-2']) {
      await twins.insert({
        name,
        prefix: 'cbk_twintwin',
        keyHash: hashApiKey(name),
        scopes: ['admin'],
      });
    }
    expect(await service.revoke('cbk_twintwin')).toEqual({ outcome: 'ambiguous' });
  });

  it('lists keys without their hashes', async () => {
    const { key } = await service.create('listed', ['admin']);
    const list = await service.list();
    const listed = list.find((k) => k.name === 'listed');
    expect(listed).toBeDefined();
    expect(Object.keys(listed ?? {}).sort()).toEqual(
      ['createdAt', 'id', 'lastUsedAt', 'name', 'prefix', 'revokedAt', 'scopes'].sort(),
    );
    const text = JSON.stringify(list);
    expect(text).not.toContain(key);
    expect(text).not.toContain(hashApiKey(key));
  });

  it('validates name and scopes', async () => {
    await expect(service.create('  ', ['admin'])).rejects.toBeInstanceOf(BrokerError);
    await expect(service.create('x', [])).rejects.toBeInstanceOf(BrokerError);
    await expect(service.create('x', ['connections:read', 'root'])).rejects.toMatchObject({
      code: 'validation_failed',
    });
  });

  it('writes last_used_at at most once a minute', async () => {
    const { key, apiKey } = await service.create('throttled', ['connections:read']);
    const lastUsed = async (): Promise<Date | null> =>
      (await ds.getRepository(ApiKeyEntity).findOneByOrFail({ id: apiKey.id })).lastUsedAt;

    expect(await lastUsed()).toBeNull();
    const t0 = clock.date();
    await service.authenticate(key);
    expect((await lastUsed())?.toISOString()).toBe(t0.toISOString());

    clock.advance(30_000); // t0 + 30 s
    await service.authenticate(key);
    clock.advance(29_000); // t0 + 59 s
    await service.authenticate(key);
    expect((await lastUsed())?.toISOString()).toBe(t0.toISOString());

    clock.advance(2_000); // t0 + 61 s
    await service.authenticate(key);
    expect((await lastUsed())?.toISOString()).toBe(clock.date().toISOString());
  });
});
