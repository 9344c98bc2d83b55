import { BrokerHarness } from '../support/broker';
import { seedConnections } from '../support/seed';
import { type FakeTailscale, startFakeTailscale } from '../fakes/tailscale/fake-tailscale';
import { KV_MOUNT, type TokenBody, connectionRow, kvPath } from '../support/lifecycle-seed';

/** POST /tailscale/refresh-token against the Tailscale emulator. */
describe('token lifecycle: POST /tailscale/refresh-token (e2e)', () => {
  let tailscale: FakeTailscale;
  let broker: BrokerHarness;

  beforeAll(async () => {
    tailscale = await startFakeTailscale();
    broker = await BrokerHarness.start({ env: { TAILSCALE_API_URL: tailscale.url } });
  });

  afterAll(async () => {
    await broker?.close();
    await tailscale?.close();
  });

  async function seedTailscale(userId: string, clientId: string) {
    tailscale.addClient({
      clientId,
      secret: `tskey-client-${clientId}-secret`,
      scopes: ['all'],
      tailnet: `${clientId}.example.com`,
    });
    const [row] = await seedConnections(broker.dataSource, [
      {
        userId,
        provider: 'tailscale',
        accountRef: `${clientId}.example.com`,
        expiresAt: new Date(Date.now() + 3000_000),
      },
    ]);
    broker.vault.kv.write(KV_MOUNT, kvPath(row.vaultPath), {
      client_id: clientId,
      client_secret: `tskey-client-${clientId}-secret`,
      tailnet: `${clientId}.example.com`,
      access_token: `tskey-api-old-${clientId}`,
      token_type: 'Bearer',
    });
    return row;
  }

  it("re-mints the user's only Tailscale token without a connection_id", async () => {
    const row = await seedTailscale('tara', 'kOnly');
    const tara = await broker.userToken('tara');
    const minted = tailscale.issuedTokens.length;
    const res = await broker.request('/tailscale/refresh-token', { method: 'POST', token: tara });
    expect(res.status).toBe(200);
    const body = res.body as { connection_id: string; expires_at: string };
    expect(body.connection_id).toBe(row.id);
    expect(new Date(body.expires_at).getTime()).toBeGreaterThan(Date.now());
    expect(tailscale.issuedTokens.length).toBe(minted + 1);
    expect((await connectionRow(broker, row.id)).vaultVersion).toBe(2);
    const token = await broker.request(`/connections/${row.id}/token`, { token: tara });
    expect((token.body as TokenBody).access_token).toBe(tailscale.issuedTokens.at(-1));
    expect(res.text).not.toContain('tskey');
  });

  it('needs connection_id when there are two, and finds only Tailscale connections of the caller', async () => {
    const first = await seedTailscale('theo', 'kOne');
    await seedTailscale('theo', 'kTwo');
    const theo = await broker.userToken('theo');
    const ambiguous = await broker.request('/tailscale/refresh-token', {
      method: 'POST',
      token: theo,
      body: {},
    });
    expect(ambiguous.status).toBe(400);
    expect((ambiguous.body as { code: string }).code).toBe('validation_failed');
    const chosen = await broker.request('/tailscale/refresh-token', {
      method: 'POST',
      token: theo,
      body: { connection_id: first.id },
    });
    expect(chosen.status).toBe(200);
    expect((chosen.body as { connection_id: string }).connection_id).toBe(first.id);

    const [gcp] = await seedConnections(broker.dataSource, [{ userId: 'theo', provider: 'gcp' }]);
    const wrongProvider = await broker.request('/tailscale/refresh-token', {
      method: 'POST',
      token: theo,
      body: { connection_id: gcp.id },
    });
    expect(wrongProvider.status).toBe(404);
    const someoneElse = await broker.request('/tailscale/refresh-token', {
      method: 'POST',
      token: await broker.userToken('mallory'),
      body: { connection_id: first.id },
    });
    expect(someoneElse.status).toBe(404);
    const unknownField = await broker.request('/tailscale/refresh-token', {
      method: 'POST',
      token: theo,
      body: { connection_id: first.id, force: true },
    });
    expect(unknownField.status).toBe(400);
  });

  it('a deleted OAuth client → 409 needs_reauth', async () => {
    const row = await seedTailscale('tina', 'kGone');
    tailscale.revokeClient('kGone');
    const res = await broker.request('/tailscale/refresh-token', {
      method: 'POST',
      token: await broker.userToken('tina'),
    });
    expect(res.status).toBe(409);
    expect((res.body as { code: string }).code).toBe('needs_reauth');
    expect((await connectionRow(broker, row.id)).status).toBe('needs_reauth');
  });
});
