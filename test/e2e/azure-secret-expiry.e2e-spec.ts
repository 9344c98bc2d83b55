import { randomBytes, randomUUID } from 'node:crypto';
import { type FakeApp, type FakeAzure, startFakeAzure } from '../fakes/azure/fake-azure';
import { BrokerHarness, NO_LEAKS, leaksIn } from '../support/broker';
import { eventually } from '../support/lifecycle-seed';
import { type WebhookReceiver, startWebhookReceiver } from '../support/webhook-receiver';

interface Connection {
  id: string;
  status: string;
  metadata: Record<string, unknown>;
}
interface EventBody {
  id: string;
  type: string;
  data: { connection: Connection & Record<string, unknown>; secret_expires_at?: string };
}

const DAY = 86_400_000;
const TENANT = randomUUID();
const WEBHOOK_SECRET = `whsec_${randomBytes(32).toString('base64')}`;
/** Client secrets with distinct first three characters: Graph's hint tells them apart. */
const secret = (prefix: string) => `${prefix}~${randomBytes(18).toString('base64url')}`;
const at = (days: number) => new Date(Date.now() + days * DAY);

function app(prefix: string, expiresInDays: number, extra: Partial<FakeApp> = {}): FakeApp {
  return {
    clientId: randomUUID(),
    secret: secret(prefix),
    secretExpiresAt: at(expiresInDays),
    subscriptions: [{ subscriptionId: randomUUID(), displayName: prefix, state: 'Enabled' }],
    ...extra,
  };
}

/**
 * SPEC §14, Azure: the broker records when the principal's client secret expires (Microsoft
 * Graph) and the worker raises `connection.secret_expiring` 14 days ahead — once per expiry —
 * as a signed webhook. The built api and worker, the HTTPS Entra ID + ARM + Graph emulator, and
 * a receiver that verifies every signature with the standardwebhooks library.
 */
describe('Azure client secret expiry (e2e)', () => {
  let azure: FakeAzure;
  let broker: BrokerHarness;
  let receiver: WebhookReceiver<EventBody>;
  let alice: string;
  const responses: string[] = [];
  // Expires in 10 days; in 5 days but the principal may not read Graph at first; in 200 days.
  const soon = app('Sn1', 10);
  const shy = app('Sh2', 5, { graphDenied: true });
  const later = app('Lt3', 200);
  const rotated = secret('Rt4');
  const rotatedExpires = at(12);

  async function login(a: FakeApp, status = 201): Promise<Connection> {
    const res = await broker.request('/azure/login', {
      method: 'POST',
      token: alice,
      body: { tenant_id: TENANT, client_id: a.clientId, client_secret: a.secret },
    });
    responses.push(res.text);
    expect(res.status).toBe(status);
    return res.body as Connection;
  }
  async function view(id: string): Promise<Connection> {
    const res = await broker.request(`/connections/${id}`, { token: alice });
    responses.push(res.text);
    return res.body as Connection;
  }
  const expiring = (id: string) =>
    receiver.receipts.filter(
      (r) => r.body.type === 'connection.secret_expiring' && r.body.data.connection.id === id,
    );
  /** Graph reads of a principal's application: one per maintenance pass while it is unknown. */
  const graphReadsOf = (a: FakeApp) =>
    azure.graphRequests.filter((p) => p.includes(`appId='${a.clientId}'`)).length;
  async function passes(n: number, probe: FakeApp): Promise<void> {
    const from = graphReadsOf(probe);
    expect(await eventually(() => graphReadsOf(probe) >= from + n, 15_000)).toBe(true);
  }

  beforeAll(async () => {
    receiver = await startWebhookReceiver<EventBody>(WEBHOOK_SECRET);

    azure = await startFakeAzure();
    for (const a of [soon, shy, later]) azure.addApp(TENANT, a);
    broker = await BrokerHarness.start({
      env: {
        ...azure.env(),
        RATE_LIMIT_LOGIN_PER_MINUTE: '1000',
        SETUP_MAINTENANCE_INTERVAL_SECONDS: '1',
        WEBHOOK_URL: receiver.url,
        WEBHOOK_SECRET,
        WEBHOOK_RETRY_BASE_SECONDS: '1',
        WEBHOOK_RETRY_WINDOW_SECONDS: '3',
      },
    });
    await broker.startWorker();
    alice = await broker.userToken('alice');
  });
  afterAll(async () => {
    await broker?.close();
    await azure?.close();
    await receiver?.close();
  });

  let shyId: string;
  let soonId: string;
  let laterId: string;

  it('a principal Graph refuses still connects (201): the expiry is unknown, and why', async () => {
    const c = await login(shy);
    shyId = c.id;
    expect(c.metadata).toMatchObject({ secret_expires_at: null, secret_expiry_unknown: 'graph_forbidden' }); // prettier-ignore
    // The worker keeps asking while it is unknown (and still may not read it).
    await passes(2, shy);
    expect((await view(shyId)).metadata.secret_expiry_unknown).toBe('graph_forbidden');
  });

  it('login records when the secret expires; the worker raises connection.secret_expiring once, signed', async () => {
    const c = await login(soon);
    soonId = c.id;
    expect(c.metadata).toMatchObject({
      secret_expires_at: soon.secretExpiresAt?.toISOString(),
      secret_expiry_unknown: null,
    });
    laterId = (await login(later)).id;

    expect(await eventually(() => expiring(soonId).length > 0, 15_000)).toBe(true);
    const [event] = expiring(soonId);
    expect(event.verified).toBe(true);
    expect(event.webhookId).toBe(event.body.id);
    expect(event.body.data.secret_expires_at).toBe(soon.secretExpiresAt?.toISOString());
    // data.connection is the API's connection, field for field, as it was when it was raised.
    const now = await view(soonId);
    expect(Object.keys(event.body.data.connection).sort()).toEqual(Object.keys(now).sort());
    expect(event.body.data.connection.metadata).toEqual(now.metadata);
    expect(now.metadata.secret_expiring_raised_for).toBe(soon.secretExpiresAt?.toISOString());

    // More passes raise nothing more, and nothing at all for the secret 200 days away.
    await passes(3, shy);
    expect(expiring(soonId)).toHaveLength(1);
    expect(expiring(laterId)).toHaveLength(0);
    const rows = await broker.dataSource.query<{ type: string }[]>(
      `SELECT type FROM webhook_events WHERE connection_id = $1 AND type = 'connection.secret_expiring'`,
      [soonId],
    );
    expect(rows).toHaveLength(1);
  });

  it('a Graph permission granted later is picked up by the next pass, which raises at once', async () => {
    shy.graphDenied = false;
    expect(await eventually(() => expiring(shyId).length > 0, 15_000)).toBe(true);
    const c = await view(shyId);
    expect(c.metadata).toMatchObject({
      secret_expires_at: shy.secretExpiresAt?.toISOString(),
      secret_expiry_unknown: null,
    });
    expect(expiring(shyId)[0].body.data.secret_expires_at).toBe(shy.secretExpiresAt?.toISOString()); // prettier-ignore
    // Known now: the worker stops asking Graph about it.
    const reads = graphReadsOf(shy);
    await new Promise((r) => setTimeout(r, 2_500));
    expect(graphReadsOf(shy)).toBe(reads);
    expect(expiring(shyId)).toHaveLength(1);
  });

  it('a reconnect with a new secret records its expiry, and the worker raises again for it, once', async () => {
    // The user makes a new secret in Entra ID (the old one still listed) and logs in with it.
    soon.secret = rotated;
    azure.passwordCredentials(TENANT, soon.clientId).push({
      keyId: randomUUID(),
      hint: rotated.slice(0, 3),
      endDateTime: rotatedExpires.toISOString(),
    });
    const c = await login(soon, 200);
    expect(c.id).toBe(soonId);
    expect(c.metadata.secret_expires_at).toBe(rotatedExpires.toISOString());
    expect(await eventually(() => expiring(soonId).length > 1, 15_000)).toBe(true);
    expect(expiring(soonId).map((r) => r.body.data.secret_expires_at)).toEqual([
      soon.secretExpiresAt?.toISOString(),
      rotatedExpires.toISOString(),
    ]);
    await new Promise((r) => setTimeout(r, 2_500));
    expect(expiring(soonId)).toHaveLength(2);
    expect(new Set(expiring(soonId).map((r) => r.webhookId)).size).toBe(2);
  });

  it('keeps the client secrets and the Entra ID / Graph tokens out of Postgres, Redis, logs, answers and webhooks', async () => {
    const graphTokens = azure.tokenRequests.filter((r) => r.scope.startsWith('https://graph.'));
    expect(graphTokens.length).toBeGreaterThan(3);
    const secrets = [
      ...[soon, shy, later].map((a) => a.secret),
      rotated,
      ...azure.receivedSecrets,
      ...azure.issuedTokens,
    ];
    const places = await broker.placesOutsideVault(responses);
    expect(leaksIn(places, secrets)).toEqual(NO_LEAKS);
    const bodies = receiver.receipts.map((r) => r.raw).join('\n');
    for (const s of [...secrets, WEBHOOK_SECRET]) expect(bodies).not.toContain(s);
    expect(bodies).not.toMatch(/client_secret|access_token|vault_path|"hint"/);
    // …and the search finds what it looks for where it belongs.
    expect(JSON.stringify(broker.vault.values())).toContain(rotated);
    expect(places.postgres).toContain(soon.clientId);
  });
});
