import { randomBytes, randomUUID } from 'node:crypto';
import { type FakeAzure, startFakeAzure } from '../fakes/azure/fake-azure';
import { BrokerHarness, NO_LEAKS, leaksIn } from '../support/broker';

interface Connection {
  id: string;
  provider: string;
  account_ref: string;
  display_name: string | null;
  status: string;
  setup_status: string;
  scopes: string[];
  expires_at: string;
  metadata: Record<string, unknown>;
}
interface Problem {
  code: string;
  status: number;
  errors?: { path: string; message: string }[];
}

const TENANT = randomUUID();
const OTHER_TENANT = randomUUID();
const CLIENT = randomUUID();
const EXPIRED_CLIENT = randomUUID();
const BARE_CLIENT = randomUUID();
const SHY_CLIENT = randomUUID();
const SECRET = `azs~${randomBytes(18).toString('base64url')}`;
const EXPIRED_SECRET = `azs~${randomBytes(18).toString('base64url')}`;
const BARE_SECRET = `azs~${randomBytes(18).toString('base64url')}`;
const SHY_SECRET = `azs~${randomBytes(18).toString('base64url')}`;
/** When CLIENT's secret expires, as Graph lists it (beside another secret of the app). */
const SECRET_EXPIRES = new Date(Date.now() + 180 * 86_400_000);
const WRONG_SECRET = `azs~${randomBytes(18).toString('base64url')}`;
const SUB_DISABLED = randomUUID();
const SUB_PROD = randomUUID();
const SUB_DEV = randomUUID();

/** POST /azure/login against the Entra ID + ARM emulator over HTTPS (SPEC §5 Azure). */
describe('Azure login (e2e)', () => {
  let azure: FakeAzure;
  let broker: BrokerHarness;
  let alice: string;
  const responses: string[] = [];

  async function login(body: unknown, token = alice, headers: Record<string, string> = {}) {
    const res = await broker.request('/azure/login', { method: 'POST', token, body, headers });
    responses.push(res.text);
    return res;
  }
  const creds = { tenant_id: TENANT, client_id: CLIENT, client_secret: SECRET };

  beforeAll(async () => {
    azure = await startFakeAzure();
    // Three subscriptions over two pages: the first Enabled one is on page one, SUB_DEV on two.
    azure.addApp(TENANT, {
      clientId: CLIENT,
      secret: SECRET,
      subscriptions: [
        { subscriptionId: SUB_DISABLED, displayName: 'Old', state: 'Disabled' },
        { subscriptionId: SUB_PROD, displayName: 'Prod', state: 'Enabled' },
        { subscriptionId: SUB_DEV, displayName: 'Dev', state: 'Enabled' },
      ],
      passwordCredentials: [
        { keyId: randomUUID(), hint: 'old', endDateTime: new Date(Date.now() + 20 * 86_400_000).toISOString() }, // prettier-ignore
        { keyId: randomUUID(), hint: SECRET.slice(0, 3), endDateTime: SECRET_EXPIRES.toISOString() }, // prettier-ignore
      ],
    });
    // A principal without a Graph permission: Graph answers 403 Authorization_RequestDenied.
    azure.addApp(TENANT, {
      clientId: SHY_CLIENT,
      secret: SHY_SECRET,
      graphDenied: true,
      subscriptions: [{ subscriptionId: randomUUID(), displayName: 'Shy', state: 'Enabled' }],
    });
    azure.addApp(TENANT, {
      clientId: EXPIRED_CLIENT,
      secret: EXPIRED_SECRET,
      secretExpired: true,
      subscriptions: [],
    });
    azure.addApp(OTHER_TENANT, {
      clientId: BARE_CLIENT,
      secret: BARE_SECRET,
      subscriptions: [{ subscriptionId: randomUUID(), displayName: 'Gone', state: 'Disabled' }],
    });
    azure.addDomain('contoso.onmicrosoft.com', TENANT);
    broker = await BrokerHarness.start({
      env: {
        ...azure.env(),
        // This file logs alice in far more often than a person would.
        RATE_LIMIT_LOGIN_PER_MINUTE: '1000',
      },
    });
    alice = await broker.userToken('alice');
  });
  afterAll(async () => {
    await broker?.close();
    await azure?.close();
  });

  let firstId: string;

  it('connects the first Enabled subscription: 201, metadata, when the secret expires, token in the secret store only', async () => {
    const res = await login(creds);
    expect(res.status).toBe(201);
    const c = res.body as Connection;
    firstId = c.id;
    expect(c).toMatchObject({
      provider: 'azure',
      account_ref: `${TENANT}/${SUB_PROD}`,
      display_name: 'Prod',
      status: 'active',
      setup_status: 'not_applicable',
      scopes: ['https://management.azure.com/.default'],
      metadata: {
        tenant_id: TENANT,
        client_id: CLIENT,
        subscription_id: SUB_PROD,
        subscription_name: 'Prod',
        // Graph's passwordCredential whose hint is the secret's first three characters.
        secret_expires_at: SECRET_EXPIRES.toISOString(),
        secret_expiry_unknown: null,
      },
    });
    expect(Object.keys(c.metadata).sort()).toEqual(
      ['client_id', 'subscription_id', 'subscription_name', 'tenant_id', 'secret_expires_at', 'secret_expiry_unknown'].sort(), // prettier-ignore
    );
    const ttl = new Date(c.expires_at).getTime() - Date.now();
    expect(ttl).toBeGreaterThan(3000_000);
    expect(ttl).toBeLessThanOrEqual(3600_000);

    // The SDK path really ran: ARM scope, the claims-bearing CAE request, both ARM pages; and
    // one Graph token for the application read.
    const mine = azure.tokenRequests.filter((r) => r.clientId === CLIENT);
    const arm = mine.filter((r) => r.scope === 'https://management.azure.com/.default');
    const graph = mine.filter((r) => r.scope === 'https://graph.microsoft.com/.default');
    expect(arm.length + graph.length).toBe(mine.length);
    expect(graph).toHaveLength(1);
    expect(arm.some((r) => r.claims?.includes('xms_cc'))).toBe(true);
    expect(azure.armRequests.some((p) => p.includes('$skiptoken='))).toBe(true);
    expect(azure.graphRequests).toEqual([
      `/v1.0/applications(appId='${CLIENT}')?$select=id,appId,passwordCredentials`,
    ]);

    const stored = broker.vault.values().filter((v) => v.path.endsWith(`connections/${c.id}`));
    expect(stored).toHaveLength(1);
    expect(stored[0].data).toMatchObject({
      tenant_id: TENANT,
      client_id: CLIENT,
      client_secret: SECRET,
      token_type: 'Bearer',
    });
    expect(azure.issuedTokens).toContain(stored[0].data.access_token);
  });

  it('connects a requested subscription, even on the second page', async () => {
    const res = await login({ ...creds, subscription_id: SUB_DEV.toUpperCase() });
    expect(res.status).toBe(201);
    expect((res.body as Connection).account_ref).toBe(`${TENANT}/${SUB_DEV}`);
    expect((res.body as Connection).metadata.subscription_name).toBe('Dev');
  });

  it('reconnecting updates the same connection (200), also when the tenant is named by domain', async () => {
    const again = await login(creds);
    expect(again.status).toBe(200);
    expect((again.body as Connection).id).toBe(firstId);
    const byDomain = await login({ ...creds, tenant_id: 'Contoso.onmicrosoft.com' });
    expect(byDomain.status).toBe(200);
    expect((byDomain.body as Connection).id).toBe(firstId);
    expect((byDomain.body as Connection).metadata.tenant_id).toBe(TENANT);
    const list = await broker.request('/connections?provider=azure', { token: alice });
    expect((list.body as { items: Connection[] }).items).toHaveLength(2);
    const versions = broker.vault.values().filter((v) => v.path.endsWith(`connections/${firstId}`));
    expect(versions.map((v) => v.version).sort()).toEqual([1, 2, 3]);
    // The secret's hint is not kept anywhere but the secret itself.
    const row = await broker.dataSource.query<{ metadata: object }[]>(
      `SELECT metadata FROM connections WHERE id = $1`,
      [firstId],
    );
    expect(JSON.stringify(row)).not.toContain(`"${SECRET.slice(0, 3)}"`);
  });

  it('connects all the same when Graph refuses (403): 201, the expiry unknown and why', async () => {
    const res = await login({
      tenant_id: TENANT,
      client_id: SHY_CLIENT,
      client_secret: SHY_SECRET,
    });
    expect(res.status).toBe(201);
    expect((res.body as Connection).metadata).toMatchObject({
      client_id: SHY_CLIENT,
      secret_expires_at: null,
      secret_expiry_unknown: 'graph_forbidden',
    });
  });

  it('connects all the same when Graph is down, and a reconnect says so instead of an old expiry', async () => {
    azure.failGraph(5);
    try {
      const res = await login(creds);
      expect(res.status).toBe(200);
      expect((res.body as Connection).metadata).toMatchObject({
        secret_expires_at: null,
        secret_expiry_unknown: 'graph_unavailable',
      });
    } finally {
      azure.failGraph(0);
    }
    const again = await login(creds);
    expect((again.body as Connection).metadata).toMatchObject({
      secret_expires_at: SECRET_EXPIRES.toISOString(),
      secret_expiry_unknown: null,
    });
  });

  it('waits at most a few seconds for a Graph that does not answer, then connects all the same', async () => {
    azure.hangGraph(1);
    const started = Date.now();
    try {
      const res = await login(creds);
      expect(res.status).toBe(200);
      expect((res.body as Connection).metadata).toMatchObject({
        secret_expires_at: null,
        secret_expiry_unknown: 'graph_unavailable',
      });
      // The login's Graph bound is 3 s; the rest of the login is well under a second here.
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      azure.hangGraph(0);
    }
    const again = await login(creds);
    expect((again.body as Connection).metadata.secret_expires_at).toBe(
      SECRET_EXPIRES.toISOString(),
    );
  });

  it('refreshes through the lifecycle routes with the stored principal', async () => {
    const issued = azure.issuedTokens.length;
    const res = await broker.request(`/connections/${firstId}/refresh`, {
      method: 'POST',
      token: alice,
    });
    responses.push(res.text);
    expect(res.status).toBe(200);
    expect(azure.issuedTokens.length).toBe(issued + 1);
    const token = await broker.request(`/connections/${firstId}/token`, { token: alice });
    expect(token.status).toBe(200);
    expect((token.body as { access_token: string }).access_token).toBe(azure.issuedTokens.at(-1));
  });

  it.each([
    ['a wrong secret (AADSTS7000215)', { ...creds, client_secret: WRONG_SECRET }, 401, 'azure_invalid_credentials'], // prettier-ignore
    ['an expired secret (AADSTS7000222)', { tenant_id: TENANT, client_id: EXPIRED_CLIENT, client_secret: EXPIRED_SECRET }, 401, 'azure_invalid_credentials'], // prettier-ignore
    ['an app not in the tenant (AADSTS700016)', { ...creds, client_id: randomUUID() }, 401, 'azure_invalid_credentials'], // prettier-ignore
    ['an unknown tenant (AADSTS90002)', { ...creds, tenant_id: randomUUID() }, 401, 'azure_invalid_tenant'], // prettier-ignore
    ['an unknown tenant domain', { ...creds, tenant_id: 'nobody.onmicrosoft.com' }, 401, 'azure_invalid_tenant'], // prettier-ignore
    ['no Enabled subscription', { tenant_id: OTHER_TENANT, client_id: BARE_CLIENT, client_secret: BARE_SECRET }, 422, 'azure_no_enabled_subscription'], // prettier-ignore
    ['a Disabled requested subscription', { ...creds, subscription_id: SUB_DISABLED }, 422, 'azure_subscription_not_found'], // prettier-ignore
    ['an unknown requested subscription', { ...creds, subscription_id: randomUUID() }, 422, 'azure_subscription_not_found'], // prettier-ignore
  ])('refuses %s', async (_what, body, status, code) => {
    const res = await login(body);
    expect([res.status, (res.body as Problem).code]).toEqual([status, code]);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
  });

  it('answers 503 provider_unavailable when Entra ID is down, and creates nothing', async () => {
    const before = azure.tokenRequests.length;
    azure.failTokens(10);
    try {
      const res = await login({ ...creds, subscription_id: SUB_DISABLED });
      expect([res.status, (res.body as Problem).code]).toEqual([503, 'provider_unavailable']);
      expect(azure.tokenRequests.length).toBeGreaterThan(before);
    } finally {
      azure.failTokens(0);
    }
  });

  it.each([
    ['a missing secret', { tenant_id: TENANT, client_id: CLIENT }, 'client_secret'],
    ['an unknown field', { ...creds, region: 'eu' }, '(body)'],
    ['a client id that is not a GUID', { ...creds, client_id: 'my-app' }, 'client_id'],
    ['the multi-tenant alias', { ...creds, tenant_id: 'common' }, 'tenant_id'],
    ['a tenant with a path in it', { ...creds, tenant_id: `${TENANT}/../x` }, 'tenant_id'],
    ['a wrong type', { ...creds, subscription_id: 42 }, 'subscription_id'],
    ['an empty secret', { ...creds, client_secret: '' }, 'client_secret'],
  ])('answers 400 validation_failed for %s', async (_what, body, path) => {
    const res = await login(body);
    expect(res.status).toBe(400);
    expect((res.body as Problem).code).toBe('validation_failed');
    expect((res.body as Problem).errors?.map((e) => e.path)).toContain(path);
  });

  it('answers 400 for a body that is not JSON', async () => {
    const res = await login('{"tenant_id":');
    expect([res.status, (res.body as Problem).code]).toEqual([400, 'validation_failed']);
  });

  it('lets an API key connect for the user it names', async () => {
    const key = await broker.apiKey(['connections:write', 'connections:read']);
    const res = await login({ ...creds, subscription_id: SUB_DEV }, key, {
      'X-On-Behalf-Of': 'bob',
    });
    expect(res.status).toBe(201);
    const bob = await broker.userToken('bob');
    const mine = await broker.request(`/connections/${(res.body as Connection).id}`, {
      token: bob,
    });
    expect(mine.status).toBe(200);
    const noUser = await login(creds, key);
    expect(noUser.status).toBe(400);
  });

  it('disconnects: 204, the secret is destroyed, the connection is revoked', async () => {
    const res = await login({ ...creds, subscription_id: SUB_DEV });
    expect(res.status).toBe(200);
    const id = (res.body as Connection).id;
    const del = await broker.request(`/connections/${id}`, { method: 'DELETE', token: alice });
    expect([del.status, del.text]).toEqual([204, '']);
    expect(broker.vault.values().filter((v) => v.path.endsWith(`connections/${id}`))).toEqual([]);
    const after = await broker.request(`/connections/${id}`, { token: alice });
    expect((after.body as Connection).status).toBe('revoked');
  });

  it('keeps every secret it saw or was issued out of Postgres, Redis, logs and responses', async () => {
    const secrets = [
      SECRET,
      EXPIRED_SECRET,
      BARE_SECRET,
      SHY_SECRET,
      ...azure.receivedSecrets,
      ...azure.issuedTokens,
    ];
    expect(azure.issuedTokens.length).toBeGreaterThan(3);
    const places = await broker.placesOutsideVault(responses);
    expect(leaksIn(places, secrets)).toEqual(NO_LEAKS);
    // …and the search itself finds them where they belong.
    const vault = JSON.stringify(broker.vault.values());
    expect(vault).toContain(SECRET);
    expect(places.postgres).toContain(TENANT);
  });
});
