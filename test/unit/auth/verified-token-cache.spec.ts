import { SignJWT } from 'jose';
import { JwtVerifier } from '../../../src/auth/jwt-verifier';
import { VerifiedTokenCache } from '../../../src/auth/verified-token-cache';

const SECRET = 'a-shared-secret-of-at-least-32-characters!!';

function signHs256(payload: Record<string, unknown>, secret = SECRET): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(secret));
}

describe('VerifiedTokenCache', () => {
  let now = 1_000_000_000_000;
  const clock = { now: () => now };

  it('keys by the SHA-256 of the token, never the token', () => {
    const key = VerifiedTokenCache.keyOf('header.payload.signature');
    expect(key).not.toContain('payload');
    expect(key).toHaveLength(43);
    expect(VerifiedTokenCache.keyOf('header.payload.signature')).toBe(key);
  });

  it('serves an entry strictly before exp, and not at or after it', () => {
    const cache = new VerifiedTokenCache<string>(10, 3_600_000, clock);
    const exp = now / 1000 + 30;
    cache.set('k', 'user', exp);
    now += 29_999;
    expect(cache.get('k')).toBe('user');
    now += 1;
    expect(cache.get('k')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('serves an entry for at most maxAgeMs, even when exp is later', () => {
    const cache = new VerifiedTokenCache<string>(10, 1_000, clock);
    cache.set('k', 'user', now / 1000 + 3600);
    now += 999;
    expect(cache.get('k')).toBe('user');
    now += 1;
    expect(cache.get('k')).toBeUndefined();
  });

  it('does not keep an entry whose exp has already passed', () => {
    const cache = new VerifiedTokenCache<string>(10, 60_000, clock);
    cache.set('k', 'user', now / 1000 - 1);
    expect(cache.size).toBe(0);
    expect(cache.get('k')).toBeUndefined();
  });

  it('is bounded, dropping the least recently used entry first', () => {
    const cache = new VerifiedTokenCache<string>(3, 60_000, clock);
    const exp = now / 1000 + 60;
    cache.set('a', 'A', exp);
    cache.set('b', 'B', exp);
    cache.set('c', 'C', exp);
    expect(cache.get('a')).toBe('A'); // a is now the most recent; b the least
    cache.set('d', 'D', exp);
    expect(cache.size).toBe(3);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe('A');
    expect(cache.get('c')).toBe('C');
    expect(cache.get('d')).toBe('D');
  });
});

describe('JwtVerifier with its verified-token cache', () => {
  afterEach(() => jest.useRealTimers());

  it('verifies a token once, then answers from the cache', async () => {
    const verifier = new JwtVerifier({ jwtSecret: SECRET });
    const exp = Math.floor(Date.now() / 1000) + 300;
    const token = await signHs256({ sub: 'user-1', exp });
    await expect(verifier.verify(token)).resolves.toEqual({ userId: 'user-1' });
    const spy = jest.spyOn(verifier as unknown as { keyFor: () => unknown }, 'keyFor');
    await expect(verifier.verify(token)).resolves.toEqual({ userId: 'user-1' });
    expect(spy).not.toHaveBeenCalled();
  });

  it('never caches a failure: a bad token fails every time, a good one still passes', async () => {
    const verifier = new JwtVerifier({ jwtSecret: SECRET });
    const exp = Math.floor(Date.now() / 1000) + 300;
    const forged = await signHs256({ sub: 'user-1', exp }, 'another-secret-of-at-least-32-chars!!');
    for (let i = 0; i < 3; i++) {
      await expect(verifier.verify(forged)).rejects.toMatchObject({ code: 'unauthenticated' });
    }
    const good = await signHs256({ sub: 'user-1', exp });
    await expect(verifier.verify(good)).resolves.toEqual({ userId: 'user-1' });
  });

  it('does not accept a cached token after its exp', async () => {
    const verifier = new JwtVerifier({ jwtSecret: SECRET, clockToleranceSeconds: 0 });
    const exp = Math.floor(Date.now() / 1000) + 2;
    const token = await signHs256({ sub: 'user-1', exp });
    await expect(verifier.verify(token)).resolves.toEqual({ userId: 'user-1' });
    jest.useFakeTimers({ now: exp * 1000 + 1, doNotFake: ['nextTick', 'setImmediate'] });
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'unauthenticated' });
  });

  it('can be turned off', async () => {
    const verifier = new JwtVerifier({ jwtSecret: SECRET, verifiedCacheEntries: 0 });
    const token = await signHs256({ sub: 'user-1', exp: Math.floor(Date.now() / 1000) + 300 });
    await verifier.verify(token);
    const spy = jest.spyOn(verifier as unknown as { keyFor: () => unknown }, 'keyFor');
    await verifier.verify(token);
    expect(spy).toHaveBeenCalledTimes(1);
  });
});
