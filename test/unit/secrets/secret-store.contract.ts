import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { SecretStoreError, type SecretStore } from '../../../src/secrets/secret-store';

/**
 * What every SecretStore adapter must do, run against each (Vault through the fake, local on a
 * real Postgres). `makeStore` is called once per suite; paths are unique per test.
 */
export function describeSecretStoreContract(
  name: string,
  makeStore: () => Promise<SecretStore>,
): void {
  describe(`${name}: SecretStore contract`, () => {
    let store: SecretStore;
    const fresh = (): string => `contract/${randomUUID()}`;

    beforeAll(async () => {
      store = await makeStore();
    });

    it('reads back the latest write', async () => {
      const path = fresh();
      const ref = await store.write(path, { access_token: 'ya29.first', scope: 'a b' });
      expect(ref).toEqual({ path, version: 1 });
      const value = await store.read(path);
      expect(value?.ref).toEqual({ path, version: 1 });
      expect(value?.reveal()).toEqual({ access_token: 'ya29.first', scope: 'a b' });
    });

    it('keeps every version readable by number, versions growing by one', async () => {
      const path = fresh();
      const refs = [];
      for (const n of [1, 2, 3]) refs.push(await store.write(path, { n: String(n) }));
      expect(refs.map((r) => r.version)).toEqual([1, 2, 3]);
      expect((await store.read(path, 2))?.reveal()).toEqual({ n: '2' });
      expect((await store.read(path, 1))?.reveal()).toEqual({ n: '1' });
      expect((await store.read(path))?.ref.version).toBe(3);
      expect(await store.read(path, 4)).toBeNull();
    });

    it('cas 0 creates the path once only', async () => {
      const path = fresh();
      await expect(store.write(path, { v: 'a' }, { cas: 0 })).resolves.toEqual({
        path,
        version: 1,
      });
      await expectReason(store.write(path, { v: 'b' }, { cas: 0 }), 'cas_mismatch');
      expect((await store.read(path))?.reveal()).toEqual({ v: 'a' });
    });

    it('rejects a write whose cas is not the current version, and accepts the right one', async () => {
      const path = fresh();
      await store.write(path, { v: '1' });
      await store.write(path, { v: '2' });
      await expectReason(store.write(path, { v: 'stale' }, { cas: 1 }), 'cas_mismatch');
      await expect(store.write(path, { v: '3' }, { cas: 2 })).resolves.toEqual({
        path,
        version: 3,
      });
      expect((await store.read(path))?.reveal()).toEqual({ v: '3' });
    });

    it('lets exactly one of ten concurrent writers with the same cas win', async () => {
      const path = fresh();
      await store.write(path, { v: 'base' });
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) => store.write(path, { v: `w${i}` }, { cas: 1 })),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(9);
      for (const r of lost) {
        expect(r.reason).toMatchObject({ reason: 'cas_mismatch' });
      }
      const latest = await store.read(path);
      expect(latest?.ref.version).toBe(2);
    });

    it('destroys every version of a path, and destroying again is fine', async () => {
      const path = fresh();
      await store.write(path, { v: '1' });
      await store.write(path, { v: '2' });
      await store.destroy(path);
      expect(await store.read(path)).toBeNull();
      expect(await store.read(path, 1)).toBeNull();
      expect(await store.read(path, 2)).toBeNull();
      await expect(store.destroy(path)).resolves.toBeUndefined();
      // The path is gone entirely: cas 0 may create it again.
      await expect(store.write(path, { v: 'new' }, { cas: 0 })).resolves.toEqual({
        path,
        version: 1,
      });
    });

    it('reads a missing path as null', async () => {
      expect(await store.read(fresh())).toBeNull();
      expect(await store.read(fresh(), 1)).toBeNull();
    });

    it('lists the names directly under a prefix, folders ending with /', async () => {
      const base = `list/${randomUUID()}`;
      await store.write(`${base}/b`, { v: '1' });
      await store.write(`${base}/a`, { v: '1' });
      await store.write(`${base}/folder/inner`, { v: '1' });
      await store.write(`list/${randomUUID()}/elsewhere`, { v: '1' });
      expect(await store.list(base)).toEqual(['a', 'b', 'folder/']);
      expect(await store.list(`${base}/`)).toEqual(['a', 'b', 'folder/']);
      expect(await store.list(`${base}/folder`)).toEqual(['inner']);
      await store.destroy(`${base}/a`);
      expect(await store.list(base)).toEqual(['b', 'folder/']);
      expect(await store.list(`list/${randomUUID()}`)).toEqual([]);
    });

    it('never prints secret values when a SecretValue is serialised or inspected', async () => {
      const path = fresh();
      const secret = `s3cr3t-${randomUUID()}`;
      await store.write(path, { refresh_token: secret });
      const value = await store.read(path);
      expect(value?.reveal().refresh_token).toBe(secret);
      for (const printed of [
        JSON.stringify(value),
        JSON.stringify({ nested: value }),
        inspect(value, { depth: 10, showHidden: true }),
        `${inspect([value], { colors: true })}`,
        `${inspect({ value })}`,
      ]) {
        expect(printed).not.toContain(secret);
      }
      expect(JSON.stringify(value)).toContain(path);
    });

    it('reports healthy', async () => {
      await expect(store.health()).resolves.toMatchObject({ ok: true, kind: store.kind });
    });
  });
}

export async function expectReason(
  promise: Promise<unknown>,
  reason: SecretStoreError['reason'],
): Promise<SecretStoreError> {
  const err: unknown = await promise.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SecretStoreError);
  expect((err as SecretStoreError).reason).toBe(reason);
  return err as SecretStoreError;
}
