import { type ConnectionChanges } from '../../../src/lifecycle/connection-changes';
import { ConnectionEntity } from '../../../src/database/entities';
import { ConnectionRowCache } from '../../../src/lifecycle/connection-row-cache';

describe('ConnectionRowCache', () => {
  let listener: (id: string | null) => void = () => undefined;
  const changes = {
    subscribe: async (l: (id: string | null) => void) => void (listener = l),
  } as unknown as ConnectionChanges;
  const row = (id: string) => Object.assign(new ConnectionEntity(), { id, userId: 'u' });

  it('drops a row when it changes anywhere, everything on a reconnect, and all rows after 2 s', async () => {
    const cache = new ConnectionRowCache(changes);
    await cache.onModuleInit();
    const now = 1_000_000;
    cache.set(row('a'), now);
    cache.set(row('b'), now);
    expect(cache.get('a', now)?.id).toBe('a');
    listener('a');
    expect(cache.get('a', now)).toBeUndefined();
    expect(cache.get('b', now)?.id).toBe('b');
    listener(null);
    expect(cache.get('b', now)).toBeUndefined();
    cache.set(row('c'), now);
    expect(cache.get('c', now + 1_999)?.id).toBe('c');
    expect(cache.get('c', now + 2_000)).toBeUndefined();
  });

  it('does not cache a row read before a change that arrived during the read (a racing DELETE)', async () => {
    const cache = new ConnectionRowCache(changes);
    await cache.onModuleInit();
    const now = 1_000_000;
    const beforeDelete = cache.ticket('a'); // the read starts, asks Postgres…
    listener('a'); // …a DELETE elsewhere revokes the row and publishes the change…
    cache.set(row('a'), now, beforeDelete); // …the read's (now stale) row arrives
    expect(cache.get('a', now)).toBeUndefined();
    const afterDelete = cache.ticket('a');
    cache.set(row('a'), now, afterDelete);
    expect(cache.get('a', now)?.id).toBe('a');
    const beforeReconnect = cache.ticket('b');
    listener(null); // the subscription reconnected: every ticket taken before is stale
    cache.set(row('b'), now, beforeReconnect);
    expect(cache.get('b', now)).toBeUndefined();
  });
});
