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

/** AzureDriver.refresh/revoke through the real SDK against the HTTPS emulator. */
describe('AzureDriver', () => {
  const TENANT = randomUUID();
  const CLIENT = randomUUID();
  const SECRET = `s-${randomUUID()}`;
  let azure: FakeAzure;

  const driverAt = (authorityHost: string, timeoutMs?: number) => {
    const client = new AzureClient(
      testConfig({
        azure: {
          enabled: true,
          authorityHost,
          armEndpoint: authorityHost,
          armScope: 'https://management.azure.com/.default',
        },
      }),
      timeoutMs,
    );
    return new AzureDriver(client, new AzureFailureClassifier(client));
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
  beforeAll(async () => {
    azure = await startFakeAzure();
    trustTestCaInProcess(azure.ca);
    azure.addApp(TENANT, { clientId: CLIENT, secret: SECRET, subscriptions: [] });
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
});
