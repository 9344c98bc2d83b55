import { randomUUID } from 'node:crypto';
import { type Pool } from 'pg';
import { type DataSource } from 'typeorm';
import { type PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { ConnectionEntity } from '../../../../src/database/entities';
import { type ConnectionStatus } from '../../../../src/database/enums';
import {
  RefreshStateRepository,
  type RefreshSuccess,
} from '../../../../src/database/repositories/refresh-state.repository';
import { type TestDataSource, openTestDataSource } from '../../../support/postgres';

describe('RefreshStateRepository (batched reads and success writes)', () => {
  let db: TestDataSource;
  let ds: DataSource;
  let repo: RefreshStateRepository;
  let queries: jest.SpyInstance;
  /** The prepared statements sent to the pool since the last clear, by name. */
  const statements = (): string[] =>
    queries.mock.calls
      .map(([config]) => (config as { name?: string }).name)
      .filter((name): name is string => typeof name === 'string');

  beforeAll(async () => {
    db = await openTestDataSource();
    ds = db.ds;
    repo = new RefreshStateRepository(ds.getRepository(ConnectionEntity));
    const pool = (ds.driver as PostgresDriver).master as Pool;
    // Calls through: only the named (prepared) statements it was given are looked at.
    queries = jest.spyOn(pool, 'query');
  });
  afterAll(async () => {
    await db.close();
  });
  beforeEach(() => {
    queries.mockClear();
  });

  async function row(status: ConnectionStatus, vaultVersion = 1): Promise<ConnectionEntity> {
    const id = randomUUID();
    return ds.getRepository(ConnectionEntity).save({
      id,
      userId: 'u1',
      provider: 'gcp',
      accountRef: `acct-${id}`,
      status,
      scopes: ['openid'],
      expiresAt: new Date(Date.now() + 60_000),
      nextAttemptAt: new Date(),
      vaultPath: `connections/${id}`,
      vaultVersion,
      refreshFailures: status === 'refresh_failing' ? 2 : 0,
      lastErrorCode: status === 'refresh_failing' ? 'upstream_unavailable' : null,
    });
  }

  const success = (vaultVersion: number, scopes = ['openid', 'email x']): RefreshSuccess => ({
    expiresAt: new Date('2030-01-01T00:00:00.123Z'),
    scopes,
    vaultVersion,
    refreshedAt: new Date('2029-12-31T23:00:00.456Z'),
  });

  it('reads the rows asked for in one turn with one statement, unknown ids as null', async () => {
    const rows = await Promise.all([row('active'), row('refresh_failing'), row('revoked')]);
    const unknown = randomUUID();
    const read = await Promise.all([
      ...rows.map((r) => repo.findForRefresh(r.id)),
      repo.findForRefresh(unknown),
    ]);
    expect(read.map((r) => r && [r.id, r.status])).toEqual([
      [rows[0].id, 'active'],
      [rows[1].id, 'refresh_failing'],
      [rows[2].id, 'revoked'],
      null,
    ]);
    expect(read[0]).toBeInstanceOf(ConnectionEntity);
    expect(statements()).toEqual(['refresh-state:find-many']);
  });

  it('writes the successes of one turn in one statement, each under its own guard', async () => {
    const [active, failing, revoked, newer, needsReauth] = await Promise.all([
      row('active', 1),
      row('refresh_failing', 1),
      row('revoked', 1),
      row('active', 5),
      row('needs_reauth', 1),
    ]);
    queries.mockClear();
    const results = await Promise.all([
      repo.recordSuccess(active.id, success(2)),
      repo.recordSuccess(failing.id, success(2)),
      repo.recordSuccess(revoked.id, success(2)),
      repo.recordSuccess(newer.id, success(3)), // Postgres already names version 5
      repo.recordSuccess(needsReauth.id, success(2)),
    ]);
    expect(statements()).toEqual(['refresh-state:successes']);
    expect(results.map((r) => r && [r.previousStatus, r.row.status, r.row.vaultVersion])).toEqual([
      ['active', 'active', 2],
      ['refresh_failing', 'active', 2],
      null,
      null,
      null,
    ]);
    const written = await ds.getRepository(ConnectionEntity).findOneByOrFail({ id: failing.id });
    expect(written).toMatchObject({
      status: 'active',
      scopes: ['openid', 'email x'],
      vaultVersion: 2,
      refreshFailures: 0,
      lastErrorCode: null,
      expiresAt: new Date('2030-01-01T00:00:00.123Z'),
      lastRefreshedAt: new Date('2029-12-31T23:00:00.456Z'),
      nextAttemptAt: new Date('2029-12-31T23:00:00.456Z'),
    });
    for (const untouched of [revoked, newer, needsReauth]) {
      const now = await ds.getRepository(ConnectionEntity).findOneByOrFail({ id: untouched.id });
      expect([now.status, now.vaultVersion]).toEqual([untouched.status, untouched.vaultVersion]);
    }
  });

  it('gives two successes for one row in one turn each its own guarded write, in order', async () => {
    const a = await row('active', 1);
    const b = await row('active', 1);
    queries.mockClear();
    const [a3, a2, b2, b3] = await Promise.all([
      repo.recordSuccess(a.id, success(3)),
      repo.recordSuccess(a.id, success(2)), // older than what just landed: skipped
      repo.recordSuccess(b.id, success(2)),
      repo.recordSuccess(b.id, success(3)), // newer: lands after it
    ]);
    expect([a3?.row.vaultVersion, a2, b2?.row.vaultVersion, b3?.row.vaultVersion]).toEqual([
      3,
      null,
      2,
      3,
    ]);
    expect(b3?.previousStatus).toBe('active');
    expect(statements()).toEqual([
      'refresh-state:successes',
      'refresh-state:successes',
      'refresh-state:successes',
    ]);
    const versions = await ds.getRepository(ConnectionEntity).findBy([{ id: a.id }, { id: b.id }]);
    expect(versions.map((v) => v.vaultVersion).sort()).toEqual([3, 3]);
  });

  it('pages due rows that share expires_at below the millisecond exactly, each once', async () => {
    const rows = await Promise.all([1, 2, 3, 4, 5].map(() => row('active')));
    const ids = rows.map((r) => r.id);
    // One bulk UPDATE gives every row the same microsecond, which a Date cannot hold.
    await ds.query(
      `UPDATE connections SET expires_at = timestamptz '2020-01-01 00:00:00.123456+00',
         next_attempt_at = timestamptz '2019-12-31 00:00:00.000001+00' WHERE id = ANY($1)`,
      [ids],
    );
    const query = { expiresBefore: new Date('2020-01-02'), now: new Date('2020-01-01') };
    const seen: string[] = [];
    let after;
    for (let pages = 0; pages < 10; pages++) {
      const page = await repo.findDue({ ...query, after, limit: 2 });
      seen.push(...page.map((r) => r.id));
      const last = page[page.length - 1];
      if (page.length < 2 || !last) break;
      after = last;
    }
    expect(seen).toEqual([...ids].sort());
    const [first] = await repo.findDue({ ...query, limit: 1 });
    expect(first).toEqual({
      id: [...ids].sort()[0],
      expiresAt: new Date('2020-01-01T00:00:00.123Z'),
      nextAttemptAt: new Date('2019-12-31T00:00:00.000Z'),
      expiresAtMicros: String(Date.UTC(2020, 0, 1) * 1000 + 123456),
    });
    await ds.query(`DELETE FROM connections WHERE id = ANY($1)`, [ids]);
  });

  it('keeps a write inside a transaction there, unbatched', async () => {
    const r = await row('refresh_failing', 1);
    queries.mockClear();
    const change = await ds.transaction((manager) => repo.recordSuccess(r.id, success(2), manager));
    expect(change).toMatchObject({ previousStatus: 'refresh_failing', row: { status: 'active' } });
    expect(statements()).toEqual([]);
  });
});
