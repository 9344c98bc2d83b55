import { createHash, randomBytes } from 'node:crypto';
import { type AppConfig } from '../../../../src/config/config';
import { type ConnectionEntity } from '../../../../src/database/entities';
import { OvhClient } from '../../../../src/providers/ovh/ovh-client';
import { OvhDriver } from '../../../../src/providers/ovh/ovh.driver';
import { type FakeOvh, startFakeOvh } from '../../../fakes/ovh/fake-ovh';
import { trustTestCaInProcess } from '../../../fakes/tls/test-ca';
import { expectProviderError } from '../../../support/expect-provider-error';
import { testConfig } from '../../../support/test-config';

/** OvhDriver.refresh/revoke against the OVHcloud region emulator over HTTPS. */
describe('OvhDriver', () => {
  let ovh: FakeOvh;
  let driver: OvhDriver;
  let client: OvhClient;
  let hasty: OvhClient;
  let config: AppConfig;
  const connection = { provider: 'ovh', metadata: { region: 'eu' } } as unknown as ConnectionEntity;

  /** A real grant: authorize + code exchange with PKCE, as the callback does it. */
  async function grant(): Promise<Record<string, string>> {
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const res = await fetch(client.authorizeUrl('eu', 'state-x', challenge), {
      redirect: 'manual',
    });
    const code = new URL(res.headers.get('location') ?? '').searchParams.get('code') ?? '';
    const tokens = await client.exchangeCode('eu', code, verifier);
    return {
      region: 'eu',
      access_token: tokens.accessToken,
      refresh_token: tokens.refreshToken ?? '',
      token_type: 'Bearer',
    };
  }
  beforeAll(async () => {
    ovh = await startFakeOvh();
    trustTestCaInProcess(ovh.ca);
    const region = (enabled: boolean) => ({
      enabled,
      client: enabled ? { clientId: ovh.clientId, clientSecret: ovh.clientSecret } : undefined,
      authUrl: ovh.authUrl,
      apiUrl: ovh.apiUrl,
    });
    config = testConfig({
      publicUrl: 'http://broker.test',
      ovh: { enabled: true, regions: { eu: region(true), ca: region(false), us: region(false) } },
    });
    client = new OvhClient(config);
    // Only the timeout test uses a short one: a first TLS handshake on a busy runner can be slow.
    hasty = new OvhClient(config, 1_000);
    driver = new OvhDriver(client, config);
  });
  afterAll(() => ovh.close());

  it('refreshes with the refresh token and stores the rotated one', async () => {
    const before = await grant();
    const next = await driver.refresh(connection, before);
    expect(next.secret.access_token).not.toBe(before.access_token);
    expect(next.secret.refresh_token).not.toBe(before.refresh_token);
    expect(ovh.issuedTokens).toContain(next.secret.refresh_token);
    expect(next.secret.expires_at).toBe(next.expiresAt.toISOString());
    expect(next.scopes).toEqual(['all']);
    // The rotated-out token is dead now; the new one works.
    await expectProviderError(driver.refresh(connection, before), { kind: 'permanent' });
    await expect(driver.refresh(connection, next.secret)).resolves.toBeDefined();
  });

  it('keeps the old refresh token when OVH returns none', async () => {
    const before = await grant();
    ovh.rotateRefreshTokens = false;
    try {
      const next = await driver.refresh(connection, before);
      expect(next.secret.refresh_token).toBe(before.refresh_token);
      expect(next.secret.access_token).not.toBe(before.access_token);
    } finally {
      ovh.rotateRefreshTokens = true;
    }
  });

  it('calls a revoked grant permanent (invalid_grant) and an outage transient', async () => {
    const s = await grant();
    ovh.failTokens(1, 503);
    await expectProviderError(driver.refresh(connection, s), {
      kind: 'transient',
      reason: 'provider_unavailable',
    });
    ovh.revokeRefreshTokens();
    await expectProviderError(driver.refresh(connection, s), {
      kind: 'permanent',
      reason: 'invalid_grant',
    });
  });

  it('gives up on a hung token endpoint at the timeout, with one call (exchange and refresh)', async () => {
    const s = await grant();
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const res = await fetch(client.authorizeUrl('eu', 'state-y', challenge), {
      redirect: 'manual',
    });
    const code = new URL(res.headers.get('location') ?? '').searchParams.get('code') ?? '';
    const secrets = () => ovh.receivedSecrets.length;
    ovh.hangTokens(10);
    let before = secrets();
    let started = Date.now();
    await expect(hasty.exchangeCode('eu', code, verifier)).rejects.toMatchObject({ status: 0 });
    expect(Date.now() - started).toBeLessThan(1_900);
    expect(secrets() - before).toBe(1);
    before = secrets();
    started = Date.now();
    await expectProviderError(new OvhDriver(hasty, config).refresh(connection, s), {
      kind: 'transient',
    });
    expect(Date.now() - started).toBeLessThan(1_900);
    expect(secrets() - before).toBe(1);
    ovh.hangTokens(0);
  });

  it('calls a secret without a refresh token permanent, a disabled region transient', async () => {
    await expectProviderError(driver.refresh(connection, { region: 'eu' }), {
      kind: 'permanent',
      reason: 'secret_incomplete',
    });
    await expectProviderError(driver.refresh(connection, { region: 'ca', refresh_token: 'r' }), {
      kind: 'transient',
      reason: 'provider_disabled',
    });
  });

  it('revokes nothing upstream', async () => {
    const calls = ovh.seen.length;
    await driver.revoke();
    expect(ovh.seen.length).toBe(calls);
  });

  it('reads the nichandle from /me', async () => {
    const s = await grant();
    expect(await client.nichandle('eu', s.access_token)).toBe('ab12345-ovh');
    await expect(client.nichandle('eu', 'ovhat-forged')).rejects.toMatchObject({ status: 401 });
  });
});
