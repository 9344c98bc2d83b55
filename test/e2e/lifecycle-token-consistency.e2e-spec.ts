import { type FakeGoogle } from '../fakes/google/fake-google';
import { type BrokerHarness } from '../support/broker';
import {
  KV_MOUNT,
  type TokenBody,
  connectionRow,
  eventually,
  kvPath,
  refreshCalls,
  seedGcpConnection,
} from '../support/lifecycle-seed';
import { closeTokenBroker, startTokenBroker } from '../support/token-broker';

/**
 * What stays consistent when writers race, on built apis with no worker: Vault and Postgres after
 * a crash between their writes, check-and-set against a newer write, and one replica's row cache
 * when another replica refreshes or revokes the connection.
 */
describe('token lifecycle: Vault, Postgres and replicas stay consistent (e2e)', () => {
  let google: FakeGoogle;
  let broker: BrokerHarness;
  let alice: string;

  beforeAll(async () => {
    ({ google, broker, alice } = await startTokenBroker());
  });
  afterAll(() => closeTokenBroker(broker, google));

  it('a crash between the Vault write and the Postgres update leaves a usable, newer token', async () => {
    const seeded = await seedGcpConnection(broker, google, {
      userId: 'alice',
      expiresInSeconds: 60,
    });
    // The crashed refresh: Google minted a token, Vault got it as version 2, Postgres never heard.
    const grant = google.grants.refreshTokens.get(seeded.refreshToken);
    if (!grant) throw new Error('seeded grant missing');
    const newer = google.grants.newAccessToken(grant, 3599);
    const path = kvPath(seeded.connection.vaultPath);
    broker.vault.kv.write(KV_MOUNT, path, {
      access_token: newer,
      refresh_token: seeded.refreshToken,
      token_type: 'Bearer',
      scope: seeded.connection.scopes.join(' '),
      expires_at: new Date(Date.now() + 3599_000).toISOString(),
    });
    expect((await connectionRow(broker, seeded.connection.id)).vaultVersion).toBe(1);

    // The row looks due, so the read refreshes early — building on version 2, not overwriting it.
    const res = await broker.request(`/connections/${seeded.connection.id}/token`, {
      token: alice,
    });
    expect(res.status).toBe(200);
    const row = await connectionRow(broker, seeded.connection.id);
    expect(row.vaultVersion).toBe(3);
    const entry = broker.vault.kv.get(KV_MOUNT, path);
    expect(entry?.versions.get(2)?.data).toMatchObject({ access_token: newer });
    expect(entry?.versions.get(3)?.data).toMatchObject({
      access_token: (res.body as TokenBody).access_token,
    });
    expect(google.grants.liveAccessToken((res.body as TokenBody).access_token)).toBeDefined();
  });

  it('check-and-set: a refresh that loses to a newer write does not overwrite it', async () => {
    const seeded = await seedGcpConnection(broker, google, {
      userId: 'alice',
      expiresInSeconds: 3000,
    });
    const path = kvPath(seeded.connection.vaultPath);
    google.failToken({ kind: 'delay', ms: 1500 });
    const pending = broker.request(`/connections/${seeded.connection.id}/refresh`, {
      method: 'POST',
      token: alice,
    });
    // While Google is slow, a reconnect writes version 2 (the user's new grant).
    expect(await eventually(() => refreshCalls(google, seeded.refreshToken) === 1, 5000)).toBe(
      true,
    );
    const reconnect = broker.vault.kv.write(KV_MOUNT, path, {
      access_token: 'ya29.reconnected-token',
      refresh_token: seeded.refreshToken,
      token_type: 'Bearer',
      scope: seeded.connection.scopes.join(' '),
    });
    expect(reconnect.ok).toBe(true);
    const res = await pending;
    expect(res.status).toBe(503);
    const entry = broker.vault.kv.get(KV_MOUNT, path);
    expect(entry?.currentVersion).toBe(2);
    expect(entry?.versions.get(2)?.data).toMatchObject({ access_token: 'ya29.reconnected-token' });
    expect((await connectionRow(broker, seeded.connection.id)).vaultVersion).toBe(1);
  });

  it('a row cached by one api replica is dropped when another revokes or refreshes it', async () => {
    const seeded = await seedGcpConnection(broker, google, {
      userId: 'alice',
      expiresInSeconds: 3600,
    });
    const id = seeded.connection.id;
    const other = await broker.startApi();
    try {
      const read = (base?: string) =>
        broker.request(`/connections/${id}/token`, { token: alice, base });
      // Replica A (broker.url) reads and caches the row.
      expect(((await read()).body as TokenBody).access_token).toBe(seeded.accessToken);
      // Replica B refreshes: A serves the new token on its next read, not the cached row's.
      const forced = await broker.request(`/connections/${id}/refresh`, {
        method: 'POST',
        token: alice,
        base: other.url,
      });
      expect(forced.status).toBe(200);
      const fresh = google.grants.issued.access.at(-1);
      expect(fresh).not.toBe(seeded.accessToken);
      expect(
        await eventually(
          async () => ((await read()).body as TokenBody).access_token === fresh,
          500,
        ),
      ).toBe(true);
      // Replica B revokes: A answers 404 from then on.
      const deleted = await broker.request(`/connections/${id}`, {
        method: 'DELETE',
        token: alice,
        base: other.url,
      });
      expect(deleted.status).toBe(204);
      expect(await eventually(async () => (await read()).status === 404, 500)).toBe(true);
    } finally {
      await other.stop();
    }
  });
});
