import { InMemorySecretStore } from '../../support/in-memory-secret-store';
import { describeSecretStoreContract, expectReason } from './secret-store.contract';

// The unit tests' stand-in for Vault keeps the port's contract like the real adapters.
describeSecretStoreContract('in-memory', async () => new InMemorySecretStore());

describe('InMemorySecretStore', () => {
  it('rejects paths that climb out of the prefix, like the adapters', async () => {
    const store = new InMemorySecretStore();
    await expectReason(store.write('../elsewhere', { a: 'b' }), 'denied');
    await expectReason(store.read('connections/./x'), 'denied');
  });

  it('shows every version of a path, as copies', async () => {
    const store = new InMemorySecretStore();
    await store.write('connections/c1', { v: '1' });
    await store.write('/connections//c1', { v: '2' });
    const versions = store.versions('connections/c1');
    expect(versions).toEqual([{ v: '1' }, { v: '2' }]);
    versions[0].v = 'changed';
    expect((await store.read('connections/c1', 1))?.reveal()).toEqual({ v: '1' });
    expect(store.versions('connections/none')).toEqual([]);
  });

  it('fails every call with the given reason while failing, and reports it in health', async () => {
    const store = new InMemorySecretStore({ kind: 'local' });
    await store.write('p', { v: '1' });
    store.failWith('unavailable');
    await expectReason(store.read('p'), 'unavailable');
    await expectReason(store.write('p', { v: '2' }), 'unavailable');
    await expectReason(store.destroy('p'), 'unavailable');
    await expectReason(store.list(''), 'unavailable');
    await expect(store.health()).resolves.toMatchObject({
      ok: false,
      kind: 'local',
      reason: 'unavailable',
    });
    store.failWith(null);
    expect((await store.read('p'))?.reveal()).toEqual({ v: '1' });
  });
});
