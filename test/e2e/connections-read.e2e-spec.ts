import { type Connection, type paths } from '../../clients/typescript';
import { BrokerHarness } from '../support/broker';
import { seedConnections } from '../support/seed';

type ListQuery = NonNullable<paths['/connections']['get']['parameters']['query']>;

/** GET /connections and /connections/:id: owner scoping, keyset pagination, filters, API keys. */
describe('connections read API (e2e)', () => {
  let broker: BrokerHarness;
  let alice: string;
  let bob: string;
  let aliceIds: string[];
  let bobIds: string[];

  beforeAll(async () => {
    broker = await BrokerHarness.start();
    alice = await broker.userToken('alice');
    bob = await broker.userToken('bob');
    const t0 = Date.now() - 3600_000;
    const aliceRows = await seedConnections(
      broker.dataSource,
      Array.from({ length: 25 }, (_, i) => ({
        userId: 'alice',
        provider: (['gcp', 'azure', 'tailscale', 'ovh'] as const)[i % 4],
        status: i % 5 === 0 ? ('needs_reauth' as const) : ('active' as const),
        // Several rows share a timestamp: the keyset must still neither skip nor repeat.
        createdAt: new Date(t0 + Math.floor(i / 3) * 1000),
      })),
    );
    aliceIds = aliceRows.map((r) => r.id);
    bobIds = (
      await seedConnections(broker.dataSource, [
        { userId: 'bob' },
        { userId: 'bob', provider: 'azure' },
      ])
    ).map((r) => r.id);
  });
  afterAll(() => broker.close());

  /** Every page through the typed client (clients/typescript), 7 at a time. */
  async function allPages(
    token: string,
    query: Omit<ListQuery, 'limit' | 'cursor'> = {},
    onBehalfOf?: string,
  ): Promise<Connection[]> {
    const client = broker.client(token, onBehalfOf);
    const items: Connection[] = [];
    let cursor: string | undefined;
    do {
      const { data, response } = await client.GET('/connections', {
        params: { query: { ...query, limit: '7', ...(cursor ? { cursor } : {}) } },
      });
      expect(response.status).toBe(200);
      if (!data) throw new Error('no page');
      expect(data.items.length).toBeLessThanOrEqual(7);
      items.push(...data.items);
      cursor = data.next_cursor ?? undefined;
    } while (cursor);
    return items;
  }

  it("pages through exactly the caller's connections, newest first, without gaps or repeats", async () => {
    const items = await allPages(alice);
    expect(items.map((i) => i.id).sort()).toEqual([...aliceIds].sort());
    expect(new Set(items.map((i) => i.id)).size).toBe(25);
    const { data: first } = await broker
      .client(alice)
      .GET('/connections', { params: { query: { limit: '1' } } });
    expect(first?.items[0].id).toBe(items[0].id);
  });

  it('filters by provider and status', async () => {
    const gcp = await allPages(alice, { provider: 'gcp' });
    expect(gcp).toHaveLength(7);
    expect(gcp.every((c) => c.provider === 'gcp')).toBe(true);
    const reauth = await allPages(alice, { status: 'needs_reauth' });
    expect(reauth).toHaveLength(5);
    expect(await allPages(alice, { provider: 'ovh', status: 'revoked' })).toEqual([]);
  });

  it('shows the SPEC fields and nothing secret', async () => {
    const { data, response } = await broker
      .client(alice)
      .GET('/connections/{id}', { params: { path: { id: aliceIds[0] } } });
    expect(response.status).toBe(200);
    expect(Object.keys(data as object).sort()).toEqual(
      [
        'id',
        'provider',
        'account_ref',
        'display_name',
        'status',
        'setup_status',
        'scopes',
        'expires_at',
        'last_refreshed_at',
        'refresh_failures',
        'last_error_code',
        'metadata',
        'created_at',
        'updated_at',
      ].sort(),
    );
    expect(JSON.stringify(data)).not.toContain('vault');
  });

  it("answers another user's connection, a missing one and a malformed id alike: 404", async () => {
    const asAlice = broker.client(alice);
    const get = (id: string) => asAlice.GET('/connections/{id}', { params: { path: { id } } });
    for (const id of [bobIds[0], '6f1c1f9e-1111-4222-8333-444455556666', 'not-a-uuid']) {
      const { error, response } = await get(id);
      expect(response.status).toBe(404);
      expect(error?.code).toBe('not_found');
      expect(error?.detail).toBe('No such connection');
    }
    const asBob = broker.client(bob);
    const own = await asBob.GET('/connections/{id}', { params: { path: { id: bobIds[0] } } });
    expect(own.response.status).toBe(200);
    expect((await asBob.GET('/connections')).data?.items).toHaveLength(2);
  });

  it('lets an API key list for the user it names, and read any connection by id', async () => {
    const key = await broker.apiKey(['connections:read']);
    const missingHeader = await broker.client(key).GET('/connections');
    expect(missingHeader.response.status).toBe(400);
    expect(missingHeader.error?.code).toBe('validation_failed');
    const forBob = await broker.client(key, 'bob').GET('/connections');
    expect(forBob.data?.items.map((i) => i.id).sort()).toEqual([...bobIds].sort());
    const byId = { params: { path: { id: aliceIds[3] } } };
    expect((await broker.client(key).GET('/connections/{id}', byId)).response.status).toBe(200);
    const scoped = await broker.client(key, 'bob').GET('/connections/{id}', byId);
    expect(scoped.response.status).toBe(404);
  });

  it('enforces API key scopes and rejects unknown or revoked keys', async () => {
    const byId = { params: { path: { id: aliceIds[0] } } };
    const tokensOnly = await broker.apiKey(['tokens:read']);
    const res = await broker.client(tokensOnly).GET('/connections/{id}', byId);
    expect(res.response.status).toBe(403);
    expect(res.error?.code).toBe('forbidden');
    const admin = await broker.apiKey(['admin']);
    expect((await broker.client(admin).GET('/connections/{id}', byId)).response.status).toBe(200);
    const unknown = await broker.client(`cbk_${'A'.repeat(43)}`).GET('/connections');
    expect(unknown.response.status).toBe(401);
  });

  it('rejects expired, foreign-issuer and wrong-audience JWTs with 401', async () => {
    const expired = await broker.userToken('alice', { exp: Math.floor(Date.now() / 1000) - 60 });
    const wrongIss = await broker.userToken('alice', { iss: 'https://evil.example' });
    const wrongAud = await broker.userToken('alice', { aud: 'someone-else' });
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"alice"}').toString('base64url')}.`;
    for (const token of [expired, wrongIss, wrongAud, unsigned, 'garbage']) {
      const { error, response } = await broker.client(token).GET('/connections');
      expect(response.status).toBe(401);
      expect(error?.code).toBe('unauthenticated');
    }
  });
});
