import { type FakeGoogle } from '../fakes/google/fake-google';
import { type BrokerHarness } from '../support/broker';
import {
  KV_MOUNT,
  type TokenBody,
  connectionRow,
  kvPath,
  refreshCalls,
  seedGcpConnection,
} from '../support/lifecycle-seed';
import { closeTokenBroker, startTokenBroker } from '../support/token-broker';

/**
 * Refreshes that succeed, on one built api with no worker (so each is caused by a request): on a
 * read inside the window, once for many concurrent readers (single-flight), and on demand
 * (POST /refresh, rate limited per connection).
 */
describe('token lifecycle: refresh on read and manual refresh (e2e)', () => {
  let google: FakeGoogle;
  let broker: BrokerHarness;
  let alice: string;

  beforeAll(async () => {
    ({ google, broker, alice } = await startTokenBroker());
  });
  afterAll(() => closeTokenBroker(broker, google));

  it('refreshes on read inside the window: the new token, a new Vault version, the row updated', async () => {
    const seeded = await seedGcpConnection(broker, google, {
      userId: 'alice',
      expiresInSeconds: 60,
    });
    const res = await broker.request(`/connections/${seeded.connection.id}/token`, {
      token: alice,
    });
    expect(res.status).toBe(200);
    const body = res.body as TokenBody;
    expect(body.access_token).not.toBe(seeded.accessToken);
    expect(body.access_token).toMatch(/^ya29\./);
    expect(google.grants.issued.access).toContain(body.access_token);
    expect(refreshCalls(google, seeded.refreshToken)).toBe(1);
    expect(new Date(body.expires_at).getTime()).toBeGreaterThan(Date.now() + 3000_000);
    const row = await connectionRow(broker, seeded.connection.id);
    expect(row.vaultVersion).toBe(2);
    expect(row.status).toBe('active');
    expect(row.lastRefreshedAt).not.toBeNull();
    const stored = broker.vault.kv.get(KV_MOUNT, kvPath(row.vaultPath))?.versions.get(2)?.data;
    // Google sends no new refresh token: the old one is kept.
    expect(stored).toMatchObject({
      access_token: body.access_token,
      refresh_token: seeded.refreshToken,
    });
  });

  it('50 concurrent reads of a due token make exactly one upstream refresh; all get the new token', async () => {
    const seeded = await seedGcpConnection(broker, google, {
      userId: 'alice',
      expiresInSeconds: 30,
    });
    google.latencyMs = 300;
    try {
      const results = await Promise.all(
        Array.from({ length: 50 }, () =>
          broker.request(`/connections/${seeded.connection.id}/token`, { token: alice }),
        ),
      );
      expect(results.map((r) => r.status)).toEqual(Array.from({ length: 50 }, () => 200));
      const tokens = new Set(results.map((r) => (r.body as TokenBody).access_token));
      expect(tokens.size).toBe(1);
      expect([...tokens][0]).not.toBe(seeded.accessToken);
    } finally {
      google.latencyMs = 0;
    }
    expect(refreshCalls(google, seeded.refreshToken)).toBe(1);
  });

  it('manual refresh refreshes now even outside the window, and is rate limited per connection', async () => {
    const seeded = await seedGcpConnection(broker, google, {
      userId: 'alice',
      expiresInSeconds: 3000,
    });
    const before = Date.now();
    const res = await broker.request(`/connections/${seeded.connection.id}/refresh`, {
      method: 'POST',
      token: alice,
    });
    expect(res.status).toBe(200);
    const body = res.body as { expires_at: string; refreshed_at: string };
    expect(new Date(body.refreshed_at).getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(new Date(body.expires_at).getTime()).toBeGreaterThan(Date.now() + 3000_000);
    expect(refreshCalls(google, seeded.refreshToken)).toBe(1);
    const token = await broker.request(`/connections/${seeded.connection.id}/token`, {
      token: alice,
    });
    expect((token.body as TokenBody).access_token).not.toBe(seeded.accessToken);

    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push(
        (
          await broker.request(`/connections/${seeded.connection.id}/refresh`, {
            method: 'POST',
            token: alice,
          })
        ).status,
      );
    }
    expect(statuses.slice(0, 4)).toEqual([200, 200, 200, 200]);
    expect(statuses[4]).toBe(429);
    expect(refreshCalls(google, seeded.refreshToken)).toBe(5);
  });
});
