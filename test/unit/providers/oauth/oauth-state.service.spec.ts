import { createHash } from 'node:crypto';
import { type DataSource } from 'typeorm';
import { BrokerError } from '../../../../src/common/error-codes';
import { OAuthStateEntity } from '../../../../src/database/entities';
import { OAuthStatesRepository } from '../../../../src/database/repositories/oauth-states.repository';
import {
  OAuthStateError,
  OAuthStateService,
} from '../../../../src/providers/oauth/oauth-state.service';
import { FakeClock } from '../../../support/fake-clock';
import { type TestDataSource, openTestDataSource } from '../../../support/postgres';
import { testConfig } from '../../../support/test-config';

const FRONTEND = 'https://app.example.com';

const config = () =>
  testConfig(
    {},
    { PUBLIC_URL: 'https://broker.example.com', FRONTEND_URL: FRONTEND, STATE_TTL_SECONDS: '120' },
  );

const sha256 = (v: string) => createHash('sha256').update(v).digest('hex');
const s256 = (v: string) => createHash('sha256').update(v).digest('base64url');

async function refusal(promise: Promise<unknown>): Promise<string> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof OAuthStateError))
    throw new Error(`expected OAuthStateError, got ${String(err)}`);
  return err.code;
}

/** One-time OAuth states against real Postgres: the atomic consume is the database's job. */
describe('OAuthStateService', () => {
  let db: TestDataSource;
  let ds: DataSource;
  let service: OAuthStateService;
  const clock = new FakeClock({ start: Date.now() });

  beforeAll(async () => {
    db = await openTestDataSource();
    ds = db.ds;
    service = new OAuthStateService(
      new OAuthStatesRepository(ds.getRepository(OAuthStateEntity)),
      config(),
      clock,
    );
  });
  afterAll(async () => {
    await db.close();
  });

  const create = (provider: 'gcp' | 'ovh' = 'gcp', redirectTo: string | null = null) =>
    service.create({ provider, userId: 'user-1', redirectTo, context: { region: 'eu' } });

  it('makes 32 random bytes of state, stores only its hash, and seals the PKCE verifier', async () => {
    const made = await create('gcp', `${FRONTEND}/back`);
    expect(made.state).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(made.state, 'base64url')).toHaveLength(32);
    const ttl = made.expiresAt.getTime() - Date.now();
    expect(ttl).toBeGreaterThan(118_000);
    expect(ttl).toBeLessThanOrEqual(120_000);

    const row = await ds
      .getRepository(OAuthStateEntity)
      .findOneByOrFail({ stateHash: sha256(made.state) });
    const text = JSON.stringify(row);
    expect(text).not.toContain(made.state);
    expect(row).toMatchObject({
      provider: 'gcp',
      userId: 'user-1',
      redirectTo: `${FRONTEND}/back`,
      consumedAt: null,
    });

    const consumed = await service.consume('gcp', made.state);
    expect(consumed).toEqual({
      userId: 'user-1',
      codeVerifier: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      redirectTo: `${FRONTEND}/back`,
      context: { region: 'eu' },
    });
    // S256: the challenge in the URL is the hash of the verifier the exchange will send.
    expect(s256(consumed.codeVerifier)).toBe(made.codeChallenge);
    expect(text).not.toContain(consumed.codeVerifier);
  });

  it('never makes the same state or verifier twice', async () => {
    const made = await Promise.all(Array.from({ length: 20 }, () => create()));
    expect(new Set(made.map((m) => m.state)).size).toBe(20);
    expect(new Set(made.map((m) => m.codeChallenge)).size).toBe(20);
  });

  it('refuses a replay: a state is consumed once', async () => {
    const { state } = await create();
    await service.consume('gcp', state);
    expect(await refusal(service.consume('gcp', state))).toBe('invalid_state');
  });

  it('lets exactly one of many concurrent consumers win', async () => {
    const { state } = await create();
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, () => service.consume('gcp', state)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(OAuthStateError);
    }
  });

  it('refuses an expired state as state_expired, and it stays used', async () => {
    const { state } = await create();
    await ds.query(
      `UPDATE oauth_states SET expires_at = now() - interval '1 second' WHERE state_hash = $1`,
      [sha256(state)],
    );
    expect(await refusal(service.consume('gcp', state))).toBe('state_expired');
    expect(await refusal(service.consume('gcp', state))).toBe('invalid_state');
  });

  it('refuses a state whose TTL passed on the clock, and only then', async () => {
    const { state } = await create();
    clock.advance(119_000);
    const early = await create();
    expect((await service.consume('gcp', early.state)).userId).toBe('user-1');
    clock.advance(1_000); // 120 s after the first state was made: its STATE_TTL_SECONDS is over
    expect(await refusal(service.consume('gcp', state))).toBe('state_expired');
  });

  it("refuses a state made for another provider, and burns it (it can't be used by its own flow either)", async () => {
    const { state } = await create('ovh');
    expect(await refusal(service.consume('gcp', state))).toBe('invalid_state');
    expect(await refusal(service.consume('ovh', state))).toBe('invalid_state');
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['too short', 'abc'],
    ['not base64url', `${'A'.repeat(42)}!`],
    ['unknown but well formed', 'B'.repeat(43)],
  ])('refuses a %s state as invalid_state', async (_, state) => {
    expect(await refusal(service.consume('gcp', state))).toBe('invalid_state');
  });

  it('cannot unseal the verifier without the state (a leaked table is useless)', async () => {
    const { state } = await create();
    const other = await create();
    // Move the other state's sealed verifier onto this row: the key derived from `state` rejects it.
    await ds.query(
      `UPDATE oauth_states SET code_verifier_sealed =
         (SELECT code_verifier_sealed FROM oauth_states WHERE state_hash = $2) WHERE state_hash = $1`,
      [sha256(state), sha256(other.state)],
    );
    await expect(service.consume('gcp', state)).rejects.toThrow();
  });

  describe('resolveRedirect', () => {
    it.each([
      [undefined, null],
      [`${FRONTEND}/settings?tab=clouds`, `${FRONTEND}/settings?tab=clouds`],
      ['/settings', `${FRONTEND}/settings`],
      [FRONTEND, `${FRONTEND}/`],
    ])('keeps %s on the frontend origin', (input, expected) => {
      expect(service.resolveRedirect(input)).toBe(expected);
    });

    it.each([
      'https://evil.example.com/',
      '//evil.example.com/x',
      '/\\evil.example.com/x',
      'https://app.example.com.evil.example/',
      'https://app.example.com@evil.example/',
      'http://app.example.com/', // another scheme is another origin
      'https://app.example.com:8443/',
      'javascript:alert(1)',
      'data:text/html,hi',
    ])('refuses %s with validation_failed on redirect_to', (input) => {
      let err: unknown;
      try {
        service.resolveRedirect(input);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(BrokerError);
      expect(err).toMatchObject({
        code: 'validation_failed',
        options: { errors: [{ path: 'redirect_to' }] },
      });
    });
  });
});
