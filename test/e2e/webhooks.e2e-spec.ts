import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { QUEUES } from '../../src/jobs/queues';
import { type FakeTailscale, startFakeTailscale } from '../fakes/tailscale/fake-tailscale';
import { BrokerHarness, REDIS_URL } from '../support/broker';
import { type WebhookReceiver, startWebhookReceiver } from '../support/webhook-receiver';

interface WebhookBody {
  id: string;
  type: string;
  created_at: string;
  data: {
    connection: Record<string, unknown> & { id: string; account_ref: string; status: string };
  };
}
interface EventRow {
  id: string;
  type: string;
  attempts: number;
  delivered_at: Date | null;
  given_up_at: Date | null;
  last_error: string | null;
}

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const tsSecret = () => `tskey-client-k${randomBytes(5).toString('hex')}CNTRL-${randomBytes(16).toString('hex')}`; // prettier-ignore
const MAIN = { clientId: 'kMain1CNTRL', secret: tsSecret(), tailnet: 'main.example' };
const DOOMED = { clientId: 'kDoomed1CNTRL', secret: tsSecret(), tailnet: 'doomed.example' };
const QUIET = { clientId: 'kQuiet1CNTRL', secret: tsSecret(), tailnet: 'quiet.example' };
const LOST = { clientId: 'kLost1CNTRL', secret: tsSecret(), tailnet: 'lost.example' };
const SCOPES = ['devices:core:read', 'policy_file', 'auth_keys'];

/**
 * Signed webhooks (SPEC §14) end to end: the built api and worker, the Tailscale emulator, and a
 * receiver that verifies every signature with the standardwebhooks library. Retries are 1 s
 * doubling in a 3 s window: 3 attempts per event (after 1 s and 2 s more).
 */
describe('webhooks (e2e)', () => {
  let ts: FakeTailscale;
  let broker: BrokerHarness;
  let receiver: WebhookReceiver<WebhookBody>;
  let alice: string;
  /** How many times the receiver still fails an event before it accepts it, by webhook-id. */
  const failuresLeft = new Map<string, number>();

  function answerFor(body: WebhookBody, webhookId: string): number {
    if (body.data.connection.account_ref === DOOMED.tailnet) return 500; // never accepts
    if (!failuresLeft.has(webhookId) && body.type === 'connection.connected') {
      if (body.data.connection.account_ref === MAIN.tailnet) failuresLeft.set(webhookId, 2);
    }
    const left = failuresLeft.get(webhookId) ?? 0;
    if (left > 0) {
      failuresLeft.set(webhookId, left - 1);
      return 500;
    }
    return 204;
  }

  async function until<T>(
    what: string,
    probe: () => Promise<T | undefined> | T | undefined,
    ms = 20_000,
  ): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const received = (type: string, connectionId: string) =>
    receiver.receipts.filter(
      (r) => r.body.type === type && r.body.data.connection.id === connectionId,
    );
  const accepted = (type: string, connectionId: string) =>
    until(`${type} of ${connectionId}`, () =>
      received(type, connectionId).find((r) => r.answered < 300),
    );

  async function rows(connectionId: string): Promise<EventRow[]> {
    return broker.dataSource.query<EventRow[]>(
      `SELECT id, type, attempts, delivered_at, given_up_at, last_error FROM webhook_events
        WHERE connection_id = $1 ORDER BY created_at`,
      [connectionId],
    );
  }

  async function connect(c: {
    clientId: string;
    secret: string;
    tailnet: string;
  }): Promise<{ status: number; id: string }> {
    const res = await broker.request('/tailscale/connect', {
      method: 'POST',
      token: alice,
      body: { client_id: c.clientId, client_secret: c.secret, tailnet: c.tailnet },
    });
    expect([200, 201]).toContain(res.status);
    return { status: res.status, id: (res.body as { id: string }).id };
  }

  beforeAll(async () => {
    receiver = await startWebhookReceiver<WebhookBody>(SECRET, answerFor);

    ts = await startFakeTailscale();
    for (const c of [MAIN, DOOMED, QUIET, LOST]) ts.addClient({ ...c, scopes: SCOPES });
    ts.setDevices(MAIN.tailnet, [{ name: 'web.tail1234.ts.net', user: 'alice@example.com' }]);
    broker = await BrokerHarness.start({
      env: {
        TAILSCALE_API_URL: ts.url,
        RATE_LIMIT_LOGIN_PER_MINUTE: '1000',
        SETUP_JOB_BACKOFF_MS: '100',
        WEBHOOK_URL: receiver.url,
        WEBHOOK_SECRET: SECRET,
        WEBHOOK_RETRY_BASE_SECONDS: '1',
        WEBHOOK_RETRY_WINDOW_SECONDS: '3',
      },
    });
    alice = await broker.userToken('alice');
  });
  afterAll(async () => {
    await broker?.close();
    await ts?.close();
    await receiver?.close();
  });

  let mainId: string;
  let firstWorker: { stop(): Promise<unknown> };
  let relayWorker: { url: string };

  it('connect → connection.connected, failed twice (500) then accepted: 3 deliveries, one webhook-id', async () => {
    firstWorker = await broker.startWorker();
    const { status, id } = await connect(MAIN);
    expect(status).toBe(201);
    mainId = id;
    const ok = await accepted('connection.connected', id);
    const all = received('connection.connected', id);
    expect(all.map((r) => r.answered)).toEqual([500, 500, 204]);
    expect(new Set(all.map((r) => r.webhookId))).toEqual(new Set([ok.webhookId]));
    expect(all.every((r) => r.verified)).toBe(true);
    expect(ok.webhookId).toMatch(/^msg_[0-9a-f-]{36}$/);
    expect(ok.body.id).toBe(ok.webhookId);
    expect(ok.headers['content-type']).toBe('application/json');
    expect(ok.headers['user-agent']).toBe('credential-broker');
    expect(ok.headers['webhook-signature']).toMatch(/^v1,/);
    // Retries wait 1 s, then 2 s: the attempts are spread, not back to back.
    const row = (await rows(id)).find((r) => r.type === 'connection.connected');
    expect(row).toMatchObject({ attempts: 3, given_up_at: null, last_error: null });
    expect(row?.delivered_at).not.toBeNull();
    // The body is the API's connection, field for field.
    const view = await broker.request(`/connections/${id}`, { token: alice });
    expect(Object.keys(ok.body.data.connection).sort()).toEqual(
      Object.keys(view.body as object).sort(),
    );
    expect(ok.body.data.connection).toMatchObject({ id, provider: 'tailscale', status: 'active' });
  });

  it('setup.finished arrives with setup status when the worker finishes setup', async () => {
    const finished = await accepted('setup.finished', mainId);
    const data = finished.body.data as unknown as { setup: { status: string } };
    expect(['succeeded', 'partial', 'failed']).toContain(data.setup.status);
    expect(finished.body.data.connection.setup_status).toBe(data.setup.status);
  });

  it('connect again → connection.reconnected', async () => {
    const { status } = await connect(MAIN);
    expect(status).toBe(200);
    await accepted('connection.reconnected', mainId);
  });

  it('a refresh failing → connection.refresh_failing once; the next success → connection.recovered', async () => {
    ts.failTokens(100, 503);
    const failed = await broker.request(`/connections/${mainId}/refresh`, {
      method: 'POST',
      token: alice,
    });
    expect(failed.status).toBe(503);
    const failing = await accepted('connection.refresh_failing', mainId);
    expect(failing.body.data.connection).toMatchObject({
      status: 'refresh_failing',
      refresh_failures: 1,
    });
    ts.failTokens(0);
    // The backoff is the broker's own (15–30 s): end it rather than wait.
    await broker.dataSource.query(`UPDATE connections SET next_attempt_at = now() WHERE id = $1`, [
      mainId,
    ]);
    const ok = await broker.request(`/connections/${mainId}/refresh`, {
      method: 'POST',
      token: alice,
    });
    expect(ok.status).toBe(200);
    const recovered = await accepted('connection.recovered', mainId);
    expect(recovered.body.data.connection).toMatchObject({ status: 'active', refresh_failures: 0 });
    // A plain successful refresh of an active connection raises nothing.
    const again = await broker.request(`/connections/${mainId}/refresh`, {
      method: 'POST',
      token: alice,
    });
    expect(again.status).toBe(200);
    await new Promise((r) => setTimeout(r, 1000));
    expect(received('connection.recovered', mainId)).toHaveLength(1);
    expect(received('connection.refresh_failing', mainId)).toHaveLength(1);
  });

  it('the provider killing the client → connection.needs_reauth; disconnect → connection.revoked', async () => {
    ts.revokeClient(MAIN.clientId);
    const dead = await broker.request(`/connections/${mainId}/refresh`, {
      method: 'POST',
      token: alice,
    });
    expect(dead.status).toBe(409);
    const reauth = await accepted('connection.needs_reauth', mainId);
    expect(reauth.body.data.connection.status).toBe('needs_reauth');
    const gone = await broker.request(`/connections/${mainId}`, { method: 'DELETE', token: alice });
    expect(gone.status).toBe(204);
    const revoked = await accepted('connection.revoked', mainId);
    expect(revoked.body.data.connection.status).toBe('revoked');
    // Every event of the connection delivered, each once accepted.
    // (The row is marked just after the receiver answers.)
    const events = await until('every event of the connection delivered', async () => {
      const all = await rows(mainId);
      return all.every((e) => e.delivered_at !== null) ? all : undefined;
    });
    expect(events.map((e) => e.type).sort()).toEqual(
      [
        'connection.connected',
        'connection.needs_reauth',
        'connection.reconnected',
        'connection.recovered',
        'connection.refresh_failing',
        'connection.revoked',
        'setup.finished',
        'setup.finished',
      ].sort(),
    );
    for (const e of events) {
      expect(
        receiver.receipts.filter((r) => r.webhookId === `msg_${e.id}` && r.answered < 300),
      ).toHaveLength(1);
    }
  });

  it('a receiver that never accepts: given up after the last attempt, every attempt sent', async () => {
    const { id } = await connect(DOOMED);
    const row = await until('the doomed event given up', async () => {
      const r = (await rows(id)).find((e) => e.type === 'connection.connected');
      return r?.given_up_at ? r : undefined;
    });
    expect(row).toMatchObject({ attempts: 3, delivered_at: null, last_error: 'http_500' });
    const all = received('connection.connected', id);
    expect(all).toHaveLength(3);
    expect(new Set(all.map((r) => r.webhookId))).toEqual(new Set([`msg_${row.id}`]));
    // The audit row and the log line follow the mark (the worker writes them next): wait for them.
    const audit = await until('the give-up audited', async () => {
      const found = await broker.dataSource.query<{ action: string }[]>(
        `SELECT action FROM audit_events WHERE connection_id = $1 AND action = 'webhook.given_up'`,
        [id],
      );
      return found.length > 0 ? found : undefined;
    });
    expect(audit.length).toBeGreaterThanOrEqual(1);
    await until('the give-up logged', () =>
      broker.logs().includes('webhook given up after the last attempt') ? true : undefined,
    );
    expect(broker.logs()).not.toContain('a receiver error body');
  });

  it('the api records events without a worker; a lost enqueue is relayed: each delivered exactly once', async () => {
    // Stop every worker: the api alone records the change and its event.
    await firstWorker.stop();
    const quiet = await connect(QUIET);
    const lost = await connect(LOST);
    const [quietEvent] = await rows(quiet.id);
    const [lostEvent] = await rows(lost.id);
    expect(quietEvent).toMatchObject({ type: 'connection.connected', delivered_at: null });
    // As if the api had died between its commit and its enqueue: the job never reached Redis.
    const queue = new Queue(QUEUES.webhooks, {
      connection: { url: REDIS_URL },
      prefix: `${broker.redisPrefix}:bull`,
    });
    try {
      await queue.remove(lostEvent.id);
      expect(await queue.getJob(lostEvent.id)).toBeUndefined();
    } finally {
      await queue.close();
    }
    relayWorker = await broker.startWorker();
    await accepted('connection.connected', quiet.id);
    await accepted('connection.connected', lost.id);
    // Another relay pass (5 s) finds nothing left to send twice.
    await new Promise((r) => setTimeout(r, 6_000));
    expect(received('connection.connected', quiet.id)).toHaveLength(1);
    expect(received('connection.connected', lost.id)).toHaveLength(1);
    for (const e of [quietEvent, lostEvent]) {
      const [row] = await broker.dataSource.query<EventRow[]>(
        `SELECT delivered_at, attempts FROM webhook_events WHERE id = $1`,
        [e.id],
      );
      expect(row.delivered_at).not.toBeNull();
      expect(row.attempts).toBe(1);
    }
  });

  it('no body carries a secret, and every signature verified', async () => {
    expect(receiver.receipts.length).toBeGreaterThan(0);
    expect(receiver.receipts.every((r) => r.verified)).toBe(true);
    const everything = receiver.receipts.map((r) => r.raw).join('\n');
    const secrets = [
      ...[MAIN, DOOMED, QUIET, LOST].map((c) => c.secret),
      ...ts.issuedTokens,
      ...[...ts.keys.values()].map((k) => k.key),
      SECRET,
    ];
    for (const s of secrets) expect(everything).not.toContain(s);
    expect(everything).not.toMatch(/tskey-|PRIVATE KEY|vault_path|connections\//);
    const stored = await broker.dataSource.query<{ payload: unknown }[]>(
      `SELECT payload FROM webhook_events`,
    );
    const storedText = JSON.stringify(stored);
    for (const s of secrets) expect(storedText).not.toContain(s);
  });

  it('the worker exports the delivery metrics', async () => {
    const metrics = await fetch(`${relayWorker.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(
      /cbk_webhook_deliveries_total\{type="connection.connected",outcome="delivered"\} 2/,
    );
    expect(metrics).toMatch(
      /cbk_webhook_delivery_seconds_count\{type="connection.connected",outcome="delivered"\} 2/,
    );
  });
});
