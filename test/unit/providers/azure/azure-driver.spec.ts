import { randomUUID } from 'node:crypto';
import { type ConnectionEntity } from '../../../../src/database/entities';
import { AzureClient } from '../../../../src/providers/azure/azure-client';
import { AzureFailureClassifier } from '../../../../src/providers/azure/azure-failure-classifier';
import { AzureDriver } from '../../../../src/providers/azure/azure.driver';
import { type FakeAzure, startFakeAzure } from '../../../fakes/azure/fake-azure';
import { trustTestCaInProcess } from '../../../fakes/tls/test-ca';
import { expectProviderError } from '../../../support/expect-provider-error';
import { freePort } from '../../../support/processes';
import { testConfig } from '../../../support/test-config';
import { FakeClock } from '../../../support/fake-clock';

/** AzureDriver.refresh/revoke through the real SDK against the HTTPS emulator. */
describe('AzureDriver', () => {
  const TENANT = randomUUID();
  const CLIENT = randomUUID();
  const SECRET = `s-${randomUUID()}`;
  let azure: FakeAzure;

  const clock = new FakeClock({ start: Date.now() });
  const clientAt = (authorityHost: string, timeoutMs?: number) =>
    new AzureClient(
      testConfig({
        azure: {
          enabled: true,
          authorityHost,
          armEndpoint: authorityHost,
          armScope: 'https://management.azure.com/.default',
          graphEndpoint: authorityHost,
        },
      }),
      timeoutMs,
    );
  const driverAt = (authorityHost: string, timeoutMs?: number) => {
    const client = clientAt(authorityHost, timeoutMs);
    return new AzureDriver(client, new AzureFailureClassifier(client), clock);
  };
  const connection = {
    provider: 'azure',
    scopes: ['https://management.azure.com/.default'],
    metadata: { tenant_id: TENANT, client_id: CLIENT },
  } as unknown as ConnectionEntity;
  const secret = (over: Record<string, string> = {}) => ({
    tenant_id: TENANT,
    client_id: CLIENT,
    client_secret: SECRET,
    access_token: 'old',
    token_type: 'Bearer',
    expires_at: new Date().toISOString(),
    ...over,
  });
  const DAY = 86_400_000;
  const EXPIRES = new Date(Date.now() + 200 * DAY);
  beforeAll(async () => {
    azure = await startFakeAzure();
    trustTestCaInProcess(azure.ca);
    azure.addApp(TENANT, {
      clientId: CLIENT,
      secret: SECRET,
      subscriptions: [],
      secretExpiresAt: EXPIRES,
    });
    azure.addApp(TENANT, { clientId: 'expired', secret: SECRET, secretExpired: true, subscriptions: [] }); // prettier-ignore
  });
  afterAll(() => azure.close());

  it('re-mints with the stored principal and keeps it in the new secret', async () => {
    const grant = await driverAt(azure.url).refresh(connection, secret());
    expect(grant.secret).toMatchObject({
      tenant_id: TENANT,
      client_id: CLIENT,
      client_secret: SECRET,
    });
    expect(grant.secret.access_token).toBe(azure.issuedTokens.at(-1));
    expect(grant.secret.expires_at).toBe(grant.expiresAt.toISOString());
    expect(grant.expiresAt.getTime()).toBeGreaterThan(Date.now() + 3000_000);
    expect(grant.scopes).toEqual(connection.scopes);
  });

  it.each([
    ['a wrong secret', secret({ client_secret: 'nope' }), 'azure_invalid_credentials'],
    ['an expired secret', secret({ client_id: 'expired' }), 'azure_invalid_credentials'],
    ['a deleted app', secret({ client_id: randomUUID() }), 'azure_invalid_credentials'],
    ['a deleted tenant', secret({ tenant_id: randomUUID() }), 'azure_invalid_tenant'],
    ['a secret without the client secret', secret({ client_secret: '' }), 'secret_incomplete'],
  ])('calls %s permanent', async (_what, s, reason) => {
    await expectProviderError(driverAt(azure.url).refresh(connection, s), {
      kind: 'permanent',
      reason,
    });
  });

  it('calls an Entra ID outage transient, after one retry (two token calls)', async () => {
    azure.failTokens(5);
    const before = azure.tokenRequests.length;
    try {
      await expectProviderError(driverAt(azure.url).refresh(connection, secret()), {
        kind: 'transient',
        reason: 'provider_unavailable',
      });
      expect(azure.tokenRequests.length - before).toBe(2);
    } finally {
      azure.failTokens(0);
    }
  });

  it('gives up on a hung Entra ID at the timeout: transient, at most two calls', async () => {
    azure.hangTokens(5);
    const before = azure.tokenRequests.length;
    const started = Date.now();
    try {
      await expectProviderError(driverAt(azure.url, 500).refresh(connection, secret()), {
        kind: 'transient',
      });
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(azure.tokenRequests.length - before).toBeLessThanOrEqual(2);
    } finally {
      azure.hangTokens(0);
    }
  });

  it('calls an unreachable authority transient, not an unknown tenant', async () => {
    const nobody = `https://127.0.0.1:${await freePort()}`;
    await expectProviderError(driverAt(nobody).refresh(connection, secret()), {
      kind: 'transient',
      reason: 'provider_unavailable',
    });
  });

  it('revokes nothing upstream', async () => {
    const before = azure.seen.length;
    await driverAt(azure.url).revoke();
    expect(azure.seen.length).toBe(before);
  });

  describe('maintain: the client secret’s expiry, from Microsoft Graph', () => {
    const unknown = (reason: string) => ({
      ...connection,
      id: randomUUID(),
      metadata: { ...connection.metadata, secret_expires_at: null, secret_expiry_unknown: reason },
    });

    it('reads it with a Graph token of the principal and records it; raises nothing far ahead', async () => {
      const before = azure.graphRequests.length;
      const outcome = await driverAt(azure.url).maintain(unknown('graph_forbidden'), secret());
      expect(outcome).toEqual({
        metadata: { secret_expires_at: EXPIRES.toISOString(), secret_expiry_unknown: null },
        events: [],
      });
      expect(azure.graphRequests.slice(before)).toEqual([
        `/v1.0/applications(appId='${CLIENT}')?$select=id,appId,passwordCredentials`,
      ]);
      expect(azure.tokenRequests.at(-1)).toMatchObject({
        clientId: CLIENT,
        scope: 'https://graph.microsoft.com/.default',
      });
    });

    it('asks Graph nothing while a future expiry is known, and raises 14 days ahead', async () => {
      const before = azure.graphRequests.length;
      const soon = new Date(clock.now() + 14 * DAY).toISOString();
      const known = {
        ...connection,
        metadata: { ...connection.metadata, secret_expires_at: soon },
      };
      expect(await driverAt(azure.url).maintain(known, secret())).toMatchObject({
        metadata: { secret_expiring_raised_for: soon },
        events: [{ type: 'connection.secret_expiring', data: { secret_expires_at: soon } }],
      });
      const later = { ...connection, metadata: { ...connection.metadata, secret_expires_at: EXPIRES.toISOString() } }; // prettier-ignore
      expect(await driverAt(azure.url).maintain(later, secret())).toBeNull();
      expect(azure.graphRequests.length).toBe(before);
    });

    it('says graph_forbidden when Graph answers 403 Authorization_RequestDenied', async () => {
      azure.denyGraph(true);
      try {
        expect(await driverAt(azure.url).maintain(unknown('graph_unavailable'), secret())).toEqual({
          metadata: { secret_expiry_unknown: 'graph_forbidden' },
          events: [],
        });
        // The same answer again changes nothing: no write.
        expect(await driverAt(azure.url).maintain(unknown('graph_forbidden'), secret())).toBeNull();
      } finally {
        azure.denyGraph(false);
      }
    });

    it('says graph_unavailable when Graph answers 503, and not_found for a secret Graph does not list', async () => {
      azure.failGraph(1);
      expect(await driverAt(azure.url).maintain(unknown('graph_forbidden'), secret())).toEqual({
        metadata: { secret_expiry_unknown: 'graph_unavailable' },
        events: [],
      });
      const client = clientAt(azure.url);
      const sp = { tenantId: TENANT, clientId: CLIENT, clientSecret: SECRET };
      // The hint is a secret's first three characters: a secret Graph lists no hint of is not found.
      const other = { ...sp, clientSecret: `Qq~${SECRET}` };
      expect(
        await client.secretExpiry(client.credential(sp), other, { timeoutMs: 5_000, now: clock.now() }), // prettier-ignore
      ).toEqual({ known: false, reason: 'not_found' });
      const gone = { tenantId: TENANT, clientId: randomUUID(), clientSecret: SECRET };
      expect(
        await client.secretExpiry(client.credential(sp), gone, { timeoutMs: 5_000, now: clock.now() }), // prettier-ignore
      ).toEqual({ known: false, reason: 'not_found', detail: 'http_404 Request_ResourceNotFound' });
    });

    it('gives up within its bound when Entra ID does not answer the Graph token request', async () => {
      const client = clientAt(azure.url);
      const sp = { tenantId: TENANT, clientId: CLIENT, clientSecret: SECRET };
      azure.hangTokens(5);
      const started = Date.now();
      try {
        expect(
          await client.secretExpiry(client.credential(sp), sp, {
            timeoutMs: 400,
            now: clock.now(),
          }),
        ).toEqual({ known: false, reason: 'graph_unavailable', detail: 'timeout' });
        expect(Date.now() - started).toBeLessThan(2_000);
      } finally {
        azure.hangTokens(0);
      }
    });

    it('a Graph that refuses an ARM token (the audience is checked) is graph_forbidden', async () => {
      const client = new AzureClient(
        testConfig({
          azure: {
            authorityHost: azure.url,
            graphEndpoint: azure.url,
            graphScope: 'https://management.azure.com/.default',
          },
        }),
      );
      const sp = { tenantId: TENANT, clientId: CLIENT, clientSecret: SECRET };
      expect(
        await client.secretExpiry(client.credential(sp), sp, {
          timeoutMs: 5_000,
          now: clock.now(),
        }),
      ).toEqual({
        known: false,
        reason: 'graph_forbidden',
        detail: 'http_401 InvalidAuthenticationToken',
      });
    });
  });
});
