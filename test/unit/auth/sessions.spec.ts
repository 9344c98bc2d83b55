import { createHash, randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { type SessionIdentity } from '../../../src/auth/caller';
import { SessionAuthenticator } from '../../../src/auth/session-authenticator';
import { readSessionCookie, setSessionCookie } from '../../../src/auth/session-cookie';
import { SessionStore } from '../../../src/auth/sessions';
import { BrokerError } from '../../../src/common/error-codes';
import { type RedisService } from '../../../src/redis/redis.module';
import { FakeClock } from '../../support/fake-clock';
import { testConfig } from '../../support/test-config';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const alice: SessionIdentity = {
  id: 'github:42',
  provider: 'github',
  email: 'alice@example.com',
  emailVerified: true,
  name: 'Alice',
  username: 'alice',
};

describe('SessionStore and SessionAuthenticator (SPEC §9)', () => {
  const prefix = `cbk_unit_${randomBytes(4).toString('hex')}`;
  let redis: Redis;
  let clock: FakeClock;
  const config = testConfig(
    {},
    {
      LOGIN_PROVIDERS: 'github',
      LOGIN_GITHUB_CLIENT_ID: 'id',
      LOGIN_GITHUB_CLIENT_SECRET: 'secret',
      LOGIN_ALLOWED_DOMAINS: 'example.com',
      ADMIN_USERS: 'root@example.com',
      SESSION_IDLE_SECONDS: '600',
      SESSION_TTL_SECONDS: '3600',
    },
  );
  let store: SessionStore;
  let sessions: SessionAuthenticator;

  beforeAll(() => {
    redis = new Redis(REDIS_URL, { keyPrefix: `${prefix}:` });
  });
  beforeEach(() => {
    clock = new FakeClock({ start: Date.now() });
    store = new SessionStore({ client: redis } as unknown as RedisService, clock, config);
    sessions = new SessionAuthenticator(store, config);
  });
  afterAll(async () => {
    const raw = new Redis(REDIS_URL);
    const keys = await raw.keys(`${prefix}:*`);
    if (keys.length) await raw.del(...keys);
    await raw.quit();
    await redis.quit();
  });

  it('keeps only the hash of the cookie value in Redis', async () => {
    const { id } = await store.create(alice);
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const keys = await redis.keys(`${prefix}:*`);
    expect(keys.join()).not.toContain(id);
    const raw = new Redis(REDIS_URL);
    for (const key of keys) expect(JSON.stringify(await raw.hgetall(key))).not.toContain(id);
    await raw.quit();
    expect((await store.resolve(id))?.identity).toEqual(alice);
  });

  it('slides the idle expiry on use and never past the absolute end', async () => {
    const { id } = await store.create(alice);
    const unprefixed = `session:${createHash('sha256').update(id).digest('hex')}`;
    expect(await redis.pttl(unprefixed)).toBeLessThanOrEqual(600_000);
    clock.advance(3_590_000);
    expect(await store.resolve(id)).not.toBeNull();
    expect(await redis.pttl(unprefixed)).toBeLessThanOrEqual(10_000);
    clock.advance(10_001);
    expect(await store.resolve(id)).toBeNull();
    expect(await redis.exists(unprefixed)).toBe(0);
  });

  it('forgets a destroyed session and refuses malformed ids without asking Redis', async () => {
    const { id } = await store.create(alice);
    await store.destroy(id);
    expect(await store.resolve(id)).toBeNull();
    expect(await store.resolve('short')).toBeNull();
  });

  const request = (method: string, headers: Record<string, string>) => ({ method, headers });

  it('makes a user caller of the cookie; a bearer-less request without one is no caller', async () => {
    const { id } = await store.create(alice);
    const cookie = setSessionCookie(id, config.login).split(';')[0];
    expect(readSessionCookie(cookie, config.login)).toBe(id);
    await expect(
      sessions.authenticate(request('GET', { cookie }), { adminOnly: false }),
    ).resolves.toEqual({
      kind: 'user',
      userId: 'github:42',
      session: alice,
    });
    await expect(
      sessions.authenticate(request('GET', {}), { adminOnly: false }),
    ).resolves.toBeNull();
  });

  it('refuses an unsafe request whose Origin is not the broker (csrf_rejected)', async () => {
    const { id } = await store.create(alice);
    const cookie = setSessionCookie(id, config.login).split(';')[0];
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: BrokerError) => e.code,
      );
    expect(
      await code(sessions.authenticate(request('POST', { cookie }), { adminOnly: false })),
    ).toBe('csrf_rejected');
    expect(
      await code(
        sessions.authenticate(request('DELETE', { cookie, origin: 'https://evil.example' }), {
          adminOnly: false,
        }),
      ),
    ).toBe('csrf_rejected');
    expect(
      await code(
        sessions.authenticate(request('POST', { cookie, origin: 'https://broker.example.com' }), {
          adminOnly: false,
        }),
      ),
    ).toBe('ok');
    expect(
      await code(
        sessions.authenticate(request('POST', { cookie, origin: 'https://app.example.com' }), {
          adminOnly: false,
        }),
      ),
    ).toBe('ok');
  });

  it('answers 401 with a cleared cookie for an ended session, 403 for a person no longer allowed', async () => {
    const { id } = await store.create(alice);
    const cookie = setSessionCookie(id, config.login).split(';')[0];
    await store.destroy(id);
    const ended = await sessions
      .authenticate(request('GET', { cookie }), { adminOnly: false })
      .catch((e: BrokerError) => e);
    expect(ended).toBeInstanceOf(BrokerError);
    expect((ended as BrokerError).code).toBe('unauthenticated');
    expect((ended as BrokerError).options.headers?.['Set-Cookie']).toMatch(/Max-Age=0/);

    const mallory = await store.create({
      ...alice,
      id: 'github:7',
      email: 'mallory@elsewhere.org',
    });
    const other = setSessionCookie(mallory.id, config.login).split(';')[0];
    await expect(
      sessions.authenticate(request('GET', { cookie: other }), { adminOnly: false }),
    ).rejects.toMatchObject({ code: 'login_not_allowed' });
  });

  it('lets only ADMIN_USERS through admin routes', async () => {
    const { id } = await store.create(alice);
    const cookie = setSessionCookie(id, config.login).split(';')[0];
    await expect(
      sessions.authenticate(request('GET', { cookie }), { adminOnly: true }),
    ).rejects.toMatchObject({
      code: 'forbidden',
    });
    const root = await store.create({ ...alice, id: 'github:1', email: 'root@example.com' });
    const rootCookie = setSessionCookie(root.id, config.login).split(';')[0];
    await expect(
      sessions.authenticate(request('GET', { cookie: rootCookie }), { adminOnly: true }),
    ).resolves.toMatchObject({ userId: 'github:1' });
  });

  it('sets a __Host- cookie on https and a plain one on http', () => {
    expect(setSessionCookie('abc', config.login)).toMatch(
      /^__Host-cbk_session=abc; Max-Age=3600; Path=\/; HttpOnly; Secure; SameSite=Lax$/,
    );
    const dev = testConfig({}, { PUBLIC_URL: 'http://127.0.0.1:3000' }).login;
    expect(setSessionCookie('abc', dev)).toMatch(/^cbk_session=abc;/);
    expect(setSessionCookie('abc', dev)).not.toMatch(/Secure/);
  });
});
