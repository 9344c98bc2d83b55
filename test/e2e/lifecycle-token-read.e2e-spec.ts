import { AuditEventEntity } from '../../src/database/entities';
import { type FakeGoogle } from '../fakes/google/fake-google';
import { type BrokerHarness } from '../support/broker';
import {
  type TokenBody,
  eventually,
  refreshCalls,
  seedGcpConnection,
} from '../support/lifecycle-seed';
import { closeTokenBroker, startTokenBroker } from '../support/token-broker';

/**
 * GET /connections/:id/token outside the refresh window, on one built api with no worker: who may
 * read, where the token comes from (Vault once, then memory), and how API-key reads are audited.
 */
describe('token lifecycle: reads (e2e)', () => {
  let google: FakeGoogle;
  let broker: BrokerHarness;
  let alice: string;

  beforeAll(async () => {
    ({ google, broker, alice } = await startTokenBroker());
  });
  afterAll(() => closeTokenBroker(broker, google));

  const vaultReads = (path: string) =>
    broker.vault.calls.filter((c) => c.method === 'GET' && c.path.endsWith(path)).length;

  it('serves a fresh token from Vault once, then from memory, without calling Google', async () => {
    const seeded = await seedGcpConnection(broker, google, {
      userId: 'alice',
      expiresInSeconds: 3000,
    });
    const first = await broker.request(`/connections/${seeded.connection.id}/token`, {
      token: alice,
    });
    expect(first.status).toBe(200);
    const body = first.body as TokenBody;
    expect(body).toEqual({
      access_token: seeded.accessToken,
      token_type: 'Bearer',
      expires_at: seeded.connection.expiresAt?.toISOString(),
      scope: seeded.connection.scopes.join(' '),
    });
    expect(first.text).not.toContain(seeded.refreshToken);
    expect(first.headers.get('cache-control')).toBe('no-store');
    const readsAfterFirst = vaultReads(seeded.connection.id);
    expect(readsAfterFirst).toBe(1);
    for (let i = 0; i < 3; i++) {
      const again = await broker.request(`/connections/${seeded.connection.id}/token`, {
        token: alice,
      });
      expect((again.body as TokenBody).access_token).toBe(seeded.accessToken);
    }
    expect(vaultReads(seeded.connection.id)).toBe(readsAfterFirst);
    expect(refreshCalls(google, seeded.refreshToken)).toBe(0);
  });

  it("answers 404 for another user's connection and 403 for a key without tokens:read", async () => {
    const seeded = await seedGcpConnection(broker, google, {
      userId: 'alice',
      expiresInSeconds: 3000,
    });
    const bob = await broker.userToken('bob');
    const other = await broker.request(`/connections/${seeded.connection.id}/token`, {
      token: bob,
    });
    expect(other.status).toBe(404);
    const readOnly = await broker.apiKey(['connections:read']);
    const denied = await broker.request(`/connections/${seeded.connection.id}/token`, {
      token: readOnly,
    });
    expect(denied.status).toBe(403);
  });

  it('audits reads by API keys (key id, connection, time) in batches', async () => {
    const seeded = await seedGcpConnection(broker, google, {
      userId: 'alice',
      expiresInSeconds: 3000,
    });
    const key = await broker.apiKey(['tokens:read'], 'reader');
    for (let i = 0; i < 3; i++) {
      const res = await broker.request(`/connections/${seeded.connection.id}/token`, {
        token: key,
      });
      expect(res.status).toBe(200);
    }
    const audits = () =>
      broker.dataSource.getRepository(AuditEventEntity).find({
        where: { action: 'token.read', connectionId: seeded.connection.id },
      });
    expect(await eventually(async () => (await audits()).length === 3, 5000)).toBe(true);
    const rows = await audits();
    expect(new Set(rows.map((r) => r.actorType))).toEqual(new Set(['api_key']));
    expect(rows[0].actorId).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.now() - rows[0].occurredAt.getTime()).toBeLessThan(60_000);
  });
});
