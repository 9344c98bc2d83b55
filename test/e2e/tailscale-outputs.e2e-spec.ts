import { randomBytes } from 'node:crypto';
import { type FakeTailscale, startFakeTailscale } from '../fakes/tailscale/fake-tailscale';
import { BrokerHarness } from '../support/broker';
import { waitForSetup } from '../support/setup-runs';
import { KV_MOUNT, eventually, kvPath } from '../support/lifecycle-seed';

const CLIENT = {
  clientId: 'kOutputs1CNTRL',
  secret: `tskey-client-kO${randomBytes(5).toString('hex')}CNTRL-${randomBytes(16).toString('hex')}`,
  tailnet: 'outputs.example',
};

/**
 * What Tailscale setup made, through the API (SPEC §14): the auth key (tokens:read) and the SSH
 * key pair (the private half only with tokens:read), for the owner only, audited.
 */
describe('Tailscale setup outputs (e2e)', () => {
  let ts: FakeTailscale;
  let broker: BrokerHarness;
  let alice: string;
  let id: string;

  beforeAll(async () => {
    ts = await startFakeTailscale();
    ts.addClient({ ...CLIENT, scopes: ['devices:core:read', 'policy_file', 'auth_keys'] });
    ts.setDevices(CLIENT.tailnet, [{ name: 'web.tail1.ts.net', user: 'alice@example.com' }]);
    broker = await BrokerHarness.start({
      env: {
        TAILSCALE_API_URL: ts.url,
        RATE_LIMIT_LOGIN_PER_MINUTE: '1000',
        SETUP_JOB_BACKOFF_MS: '100',
        SETUP_MAINTENANCE_INTERVAL_SECONDS: '1',
      },
    });
    await broker.startWorker();
    alice = await broker.userToken('alice');
    const res = await broker.request('/tailscale/connect', {
      method: 'POST',
      token: alice,
      body: { client_id: CLIENT.clientId, client_secret: CLIENT.secret },
    });
    expect(res.status).toBe(201);
    id = (res.body as { id: string }).id;
    expect((await waitForSetup(broker, alice, id)).status).toBe('succeeded');
  });
  afterAll(async () => {
    await broker?.close();
    await ts?.close();
  });

  it('hands the owner the auth key setup made, the one Tailscale issued', async () => {
    const res = await broker.request(`/connections/${id}/tailscale/auth-key`, { token: alice });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = res.body as { auth_key: string; auth_key_id: string; expires_at: string };
    const issued = ts.keys.get(body.auth_key_id);
    expect(issued?.key).toBe(body.auth_key);
    expect(Date.parse(body.expires_at)).toBeGreaterThan(Date.now() + 80 * 86_400_000);
    const audit = await broker.dataSource.query<{ action: string }[]>(
      `SELECT action FROM audit_events WHERE connection_id = $1`,
      [id],
    );
    expect(audit.map((a) => a.action)).toContain('tailscale.auth_key_read');
  });

  it('shows the SSH public key to readers and the private key only with tokens:read', async () => {
    const full = await broker.request(`/connections/${id}/ssh-key`, { token: alice });
    const pair = full.body as { public_key: string; private_key?: string };
    expect(pair.public_key).toMatch(/^ssh-ed25519 /);
    expect(pair.private_key).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----/);
    const reader = await broker.apiKey(['connections:read']);
    const limited = await broker.request(`/connections/${id}/ssh-key`, { token: reader });
    expect(limited.status).toBe(200);
    expect(limited.body).toEqual({ public_key: pair.public_key });
    const denied = await broker.request(`/connections/${id}/tailscale/auth-key`, { token: reader });
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({ code: 'forbidden' });
  });

  it("answers 404 for another user's connection and for an id that is not Tailscale's", async () => {
    const mallory = await broker.userToken('mallory');
    for (const path of [`/connections/${id}/tailscale/auth-key`, `/connections/${id}/ssh-key`]) {
      const res = await broker.request(path, { token: mallory });
      expect([path, res.status]).toEqual([path, 404]);
    }
    const missing = await broker.request(
      `/connections/00000000-0000-4000-8000-000000000000/ssh-key`,
      {
        token: alice,
      },
    );
    expect(missing.status).toBe(404);
  });

  it('has the worker replace an auth key that expires within 14 days, deleting the old one', async () => {
    const before = (await broker.request(`/connections/${id}/tailscale/auth-key`, { token: alice }))
      .body as { auth_key_id: string };
    // As if 80 of its 90 days had passed: the setup secret says it expires in 3 days.
    const path = kvPath(`connections/${id}/setup`);
    const entry = broker.vault.kv.get(KV_MOUNT, path);
    const current = entry?.versions.get(entry.currentVersion)?.data as Record<string, string>;
    const soon = new Date(Date.now() + 3 * 86_400_000).toISOString();
    expect(
      broker.vault.kv.write(KV_MOUNT, path, { ...current, auth_key_expires_at: soon }).ok,
    ).toBe(true);
    let after = before;
    await eventually(async () => {
      after = (await broker.request(`/connections/${id}/tailscale/auth-key`, { token: alice }))
        .body as { auth_key_id: string };
      return after.auth_key_id !== before.auth_key_id;
    }, 15_000);
    expect(after.auth_key_id).not.toBe(before.auth_key_id);
    expect(ts.keys.has(after.auth_key_id)).toBe(true);
    // The new key is in the secret first; the old key's delete and the audit row follow it.
    const outcomes = async () =>
      (
        await broker.dataSource.query<{ outcome: string }[]>(
          `SELECT outcome FROM audit_events WHERE connection_id = $1 AND action = 'setup.maintained'`,
          [id],
        )
      ).map((a) => a.outcome);
    await eventually(
      async () =>
        ts.deletedKeys.includes(before.auth_key_id) && (await outcomes()).includes('success'),
      10_000,
    );
    expect(ts.deletedKeys).toContain(before.auth_key_id);
    expect(await outcomes()).toContain('success');
  });
});
