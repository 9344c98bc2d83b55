import { type DataSource } from 'typeorm';
import { OAuthStateEntity } from '../../../../src/database/entities';
import { OAuthStatesRepository } from '../../../../src/database/repositories/oauth-states.repository';
import { SYSTEM_CLOCK } from '../../../../src/common/clock';
import { OAuthStateJanitor } from '../../../../src/providers/oauth/oauth-state-janitor';
import { type TestDataSource, openTestDataSource } from '../../../support/postgres';

describe('OAuthStateJanitor', () => {
  let db: TestDataSource;
  let ds: DataSource;

  beforeAll(async () => {
    db = await openTestDataSource();
    ds = db.ds;
  });
  afterAll(async () => {
    await db.close();
  });

  it('deletes states expired for more than an hour and keeps the others', async () => {
    const repo = ds.getRepository(OAuthStateEntity);
    const now = new Date('2026-11-23T12:00:00Z');
    const at = (minutes: number) => new Date(now.getTime() + minutes * 60_000);
    for (const [hash, expiresAt] of [
      ['long-gone', at(-120)],
      ['recently-expired', at(-30)],
      ['live', at(5)],
    ] as const) {
      await repo.save(
        repo.create({
          stateHash: hash,
          provider: 'gcp',
          userId: 'u',
          codeVerifierSealed: 'x.y',
          redirectTo: null,
          context: {},
          expiresAt,
          consumedAt: null,
        }),
      );
    }
    const janitor = new OAuthStateJanitor(new OAuthStatesRepository(repo), SYSTEM_CLOCK);
    expect(await janitor.sweep(now)).toBe(1);
    const left = (await repo.find()).map((r) => r.stateHash).sort();
    expect(left).toEqual(['live', 'recently-expired']);
    expect(await janitor.sweep(now)).toBe(0);
  });
});
