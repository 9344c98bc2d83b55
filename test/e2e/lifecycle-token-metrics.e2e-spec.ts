import { type FakeGoogle } from '../fakes/google/fake-google';
import { type BrokerHarness } from '../support/broker';
import { seedGcpConnection } from '../support/lifecycle-seed';
import { closeTokenBroker, startTokenBroker } from '../support/token-broker';

/**
 * What a token read and a refresh leave behind, on one built api with no worker: their counts in
 * /metrics, and no token anywhere but Vault.
 */
describe('token lifecycle: metrics and secrets (e2e)', () => {
  let google: FakeGoogle;
  let broker: BrokerHarness;
  let alice: string;

  /** The traffic counted below: a token served as stored, one refreshed on read, one dead grant. */
  beforeAll(async () => {
    ({ google, broker, alice } = await startTokenBroker());
    const read = async (expiresInSeconds: number, status: number): Promise<void> => {
      const seeded = await seedGcpConnection(broker, google, { userId: 'alice', expiresInSeconds });
      const res = await broker.request(`/connections/${seeded.connection.id}/token`, {
        token: alice,
      });
      if (res.status !== status) throw new Error(`token read: ${res.status}, not ${status}`);
    };
    await read(3000, 200); // outside the window: served
    await read(60, 200); // inside the window: refreshed on read
    google.failToken({ kind: 'invalid_grant' });
    await read(30, 409); // a dead grant: the one permanent failure
  });
  afterAll(() => closeTokenBroker(broker, google));

  it('counts reads and refreshes in /metrics; no token reaches logs, Postgres or Redis', async () => {
    const metrics = await broker.request('/metrics');
    expect(metrics.text).toMatch(/broker_token_reads_total\{provider="gcp",outcome="served"\} \d+/);
    expect(metrics.text).toMatch(
      /broker_token_reads_total\{provider="gcp",outcome="refreshed"\} \d+/,
    );
    expect(metrics.text).toMatch(
      /broker_token_refreshes_total\{provider="gcp",outcome="success",reason="ok",trigger="read"\} \d+/,
    );
    expect(metrics.text).toMatch(
      /broker_token_refreshes_total\{provider="gcp",outcome="permanent_failure",reason="invalid_grant",trigger="read"\} 1/,
    );
    expect(broker.logs()).toMatch(/"msg":"token refresh"/);
    const places = [broker.logs(), await broker.dumpDatabase(), await broker.dumpRedis()];
    for (const secret of google.grants.allSecrets()) {
      for (const place of places) expect(place).not.toContain(secret);
    }
  });
});
