import { BrokerHarness } from '../support/broker';
import { seedConnections } from '../support/seed';

interface Page {
  items: { id: string; provider: string; status: string }[];
  next_cursor: string | null;
}

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

  async function allPages(
    token: string,
    query = '',
    headers: Record<string, string> = {},
  ): Promise<Page['items']> {
    const items: Page['items'] = [];
    let cursor: string | null = null;
    do {
      const sep = query ? '&' : '';
      const res = await broker.request(
        `/connections?${query}${sep}limit=7${cursor ? `&cursor=${cursor}` : ''}`,
        {
          token,
          headers,
        },
      );
      expect(res.status).toBe(200);
      const page = res.body as Page;
      expect(page.items.length).toBeLessThanOrEqual(7);
      items.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    return items;
  }

  it("pages through exactly the caller's connections, newest first, without gaps or repeats", async () => {
    const items = await allPages(alice);
    expect(items.map((i) => i.id).sort()).toEqual([...aliceIds].sort());
    expect(new Set(items.map((i) => i.id)).size).toBe(25);
    const first = (await broker.request('/connections?limit=1', { token: alice })).body as Page;
    expect(first.items[0].id).toBe(items[0].id);
  });

  it('filters by provider and status', async () => {
    const gcp = await allPages(alice, 'provider=gcp');
    expect(gcp).toHaveLength(7);
    expect(gcp.every((c) => c.provider === 'gcp')).toBe(true);
    const reauth = await allPages(alice, 'status=needs_reauth');
    expect(reauth).toHaveLength(5);
    expect(await allPages(alice, 'provider=ovh&status=revoked')).toEqual([]);
  });

  it('shows the SPEC fields and nothing secret', async () => {
    const res = await broker.request(`/connections/${aliceIds[0]}`, { token: alice });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body as object).sort()).toEqual(
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
    expect(res.text).not.toContain('vault');
  });

  it("answers another user's connection, a missing one and a malformed id alike: 404", async () => {
    const foreign = await broker.request(`/connections/${bobIds[0]}`, { token: alice });
    const missing = await broker.request('/connections/6f1c1f9e-1111-4222-8333-444455556666', {
      token: alice,
    });
    const malformed = await broker.request('/connections/not-a-uuid', { token: alice });
    for (const res of [foreign, missing, malformed]) {
      expect(res.status).toBe(404);
      expect((res.body as { code: string; detail: string }).code).toBe('not_found');
      expect((res.body as { detail: string }).detail).toBe('No such connection');
    }
    expect((await broker.request(`/connections/${bobIds[0]}`, { token: bob })).status).toBe(200);
    expect(
      ((await broker.request('/connections', { token: bob })).body as Page).items,
    ).toHaveLength(2);
  });

  it('lets an API key list for the user it names, and read any connection by id', async () => {
    const key = await broker.apiKey(['connections:read']);
    const missingHeader = await broker.request('/connections', { token: key });
    expect(missingHeader.status).toBe(400);
    expect((missingHeader.body as { code: string }).code).toBe('validation_failed');
    const forBob = await broker.request('/connections', {
      token: key,
      headers: { 'x-on-behalf-of': 'bob' },
    });
    expect((forBob.body as Page).items.map((i) => i.id).sort()).toEqual([...bobIds].sort());
    expect((await broker.request(`/connections/${aliceIds[3]}`, { token: key })).status).toBe(200);
    const scoped = await broker.request(`/connections/${aliceIds[3]}`, {
      token: key,
      headers: { 'x-on-behalf-of': 'bob' },
    });
    expect(scoped.status).toBe(404);
  });

  it('enforces API key scopes and rejects unknown or revoked keys', async () => {
    const tokensOnly = await broker.apiKey(['tokens:read']);
    const res = await broker.request(`/connections/${aliceIds[0]}`, { token: tokensOnly });
    expect(res.status).toBe(403);
    expect((res.body as { code: string }).code).toBe('forbidden');
    const admin = await broker.apiKey(['admin']);
    expect((await broker.request(`/connections/${aliceIds[0]}`, { token: admin })).status).toBe(
      200,
    );
    const unknown = await broker.request('/connections', { token: `cbk_${'A'.repeat(43)}` });
    expect(unknown.status).toBe(401);
  });

  it('rejects expired, foreign-issuer and wrong-audience JWTs with 401', async () => {
    const expired = await broker.userToken('alice', { exp: Math.floor(Date.now() / 1000) - 60 });
    const wrongIss = await broker.userToken('alice', { iss: 'https://evil.example' });
    const wrongAud = await broker.userToken('alice', { aud: 'someone-else' });
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"alice"}').toString('base64url')}.`;
    for (const token of [expired, wrongIss, wrongAud, unsigned, 'garbage']) {
      const res = await broker.request('/connections', { token });
      expect(res.status).toBe(401);
      expect((res.body as { code: string }).code).toBe('unauthenticated');
    }
  });
});
