import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisLock } from '../../../src/lifecycle/redis-lock';
import { FakeClock } from '../../support/fake-clock';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('RedisLock (real Redis)', () => {
  const prefix = `cbk_unit_lock_${randomBytes(4).toString('hex')}:`;
  let redis: Redis;
  let locks: RedisLock;

  beforeAll(() => {
    redis = new Redis(REDIS_URL, { keyPrefix: prefix });
    locks = new RedisLock(redis);
  });

  afterAll(async () => {
    const raw = new Redis(REDIS_URL);
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length > 0) await raw.del(...keys);
    raw.disconnect();
    redis.disconnect();
  });

  it('gives the lock to one caller at a time, with a random owner token and a TTL', async () => {
    const first = await locks.acquire('a', 5_000);
    expect(first?.token).toMatch(/^[0-9a-f]{32}$/);
    expect(await locks.acquire('a', 5_000)).toBeNull();
    expect(await redis.get('a')).toBe(first?.token);
    const ttl = await redis.pttl('a');
    expect(ttl).toBeGreaterThan(4_000);
    expect(ttl).toBeLessThanOrEqual(5_000);
    expect(await first?.release()).toBe(true);
    expect(await locks.acquire('a', 5_000)).not.toBeNull();
  });

  it("releases only its own lock: a holder whose lock expired cannot delete the next holder's", async () => {
    const stale = await locks.acquire('b', 50);
    await new Promise((r) => setTimeout(r, 80));
    const current = await locks.acquire('b', 5_000);
    expect(current).not.toBeNull();
    expect(await stale?.release()).toBe(false);
    expect(await stale?.extend(10_000)).toBe(false);
    expect(await redis.get('b')).toBe(current?.token);
    expect(await current?.release()).toBe(true);
    expect(await redis.exists('b')).toBe(0);
  });

  it('acquireOrExtend keeps a lease for its owner and refuses everyone else', async () => {
    const leader = await locks.acquireOrExtend('c', 1_000, 'owner-1');
    expect(leader).not.toBeNull();
    expect(await locks.acquireOrExtend('c', 1_000, 'owner-2')).toBeNull();
    const renewed = await locks.acquireOrExtend('c', 10_000, 'owner-1');
    expect(renewed).not.toBeNull();
    expect(await redis.pttl('c')).toBeGreaterThan(5_000);
  });

  it('waitUntilFree returns once the holder releases, and gives up at the deadline', async () => {
    const held = await locks.acquire('d', 5_000);
    const started = Date.now();
    setTimeout(() => void held?.release(), 150);
    expect(await locks.waitUntilFree('d', Date.now() + 3_000)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    await locks.acquire('e', 5_000);
    expect(await locks.waitUntilFree('e', Date.now() + 100)).toBe(false);
  });

  it('waitUntilFree polls on the clock it is given: pauses from 10 ms doubling to 100 ms, up to the deadline', async () => {
    const clock = new FakeClock({ start: 1_000_000, autoAdvance: true });
    const timed = new RedisLock(redis, clock);
    await timed.acquire('h', 60_000);
    const started = Date.now();
    expect(await timed.waitUntilFree('h', clock.now() + 500)).toBe(false);
    expect(clock.sleeps).toEqual([10, 20, 40, 80, 100, 100, 100, 50]);
    expect(clock.now()).toBe(1_000_500);
    expect(Date.now() - started).toBeLessThan(450); // the fake's 500 ms were never waited for
  });

  it('waitUntilFree sees the key free at the first poll after its release', async () => {
    const clock = new FakeClock({ start: 1_000_000 });
    const timed = new RedisLock(redis, clock);
    const held = await timed.acquire('i', 60_000);
    const waiting = timed.waitUntilFree('i', clock.now() + 5_000);
    while (clock.pendingSleeps === 0) await new Promise((r) => setImmediate(r));
    await held?.release();
    clock.advance(10);
    expect(await waiting).toBe(true);
    expect(clock.sleeps).toEqual([10]);
  });

  it('releaseAndPublish lets go and announces in one round trip; a lost lock still announces', async () => {
    const channel = `${prefix}changes`;
    const subscriber = new Redis(REDIS_URL);
    const messages: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => messages.push(message));
    await subscriber.subscribe(channel);
    // A spy calls through to the real eval: it only counts the round trips.
    const spy = jest.spyOn(redis, 'eval');
    try {
      const held = await locks.acquire('j', 5_000);
      expect(await held?.releaseAndPublish(channel, 'conn-1')).toBe(true);
      expect(await redis.exists('j')).toBe(0);
      expect(await held?.release()).toBe(true); // already released: no second round trip
      expect(spy).toHaveBeenCalledTimes(1);
      const stale = await locks.acquire('k', 50);
      await new Promise((r) => setTimeout(r, 80));
      const current = await locks.acquire('k', 5_000);
      expect(await stale?.releaseAndPublish(channel, 'conn-2')).toBe(false);
      expect(await redis.get('k')).toBe(current?.token);
      for (let i = 0; i < 50 && messages.length < 2; i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(messages).toEqual(['conn-1', 'conn-2']);
    } finally {
      spy.mockRestore();
      subscriber.disconnect();
    }
  });

  it('ensure renews only when the lock may have less left than asked, and never a lost lock', async () => {
    // A spy calls through to the real eval: it only counts the round trips.
    const spy = jest.spyOn(redis, 'eval');
    try {
      const held = await locks.acquire('f', 5_000);
      expect(await held?.ensure(4_000, 5_000)).toBe(true);
      expect(spy).toHaveBeenCalledTimes(0); // young: no round trip
      expect(await held?.ensure(5_001, 5_000)).toBe(true);
      expect(spy).toHaveBeenCalledTimes(1); // may have less than asked: renewed
      const short = await locks.acquire('g', 50);
      await new Promise((r) => setTimeout(r, 80));
      await locks.acquire('g', 5_000); // someone else's now
      expect(await short?.ensure(10, 5_000)).toBe(false);
      expect(await short?.ensure(0, 5_000)).toBe(false); // a failed renewal is not remembered
      expect(spy).toHaveBeenCalledTimes(3);
    } finally {
      spy.mockRestore();
    }
  });
});
