import { createHash, randomBytes } from 'node:crypto';
import { type AppConfig } from '../../../../src/config/config';
import { type ConnectionEntity } from '../../../../src/database/entities';
import { GcpOAuthClient } from '../../../../src/providers/gcp/gcp-oauth.client';
import { GcpDriver } from '../../../../src/providers/gcp/gcp.driver';
import { type GcpSetupCleanup } from '../../../../src/providers/gcp/gcp-setup-cleanup';
import { NO_SETUP } from '../../../../src/providers/provider';
import { type FakeGoogle, startFakeGoogle } from '../../../fakes/google/fake-google';
import { expectProviderError } from '../../../support/expect-provider-error';
import { freePort } from '../../../support/processes';
import { testConfig } from '../../../support/test-config';
import { type GcpSetup } from '../../../../src/providers/gcp/setup/gcp-setup.definition';

/** Refresh and revoke do not touch setup's steps. */
const NO_STEPS = {} as GcpSetup;
/** Nothing to clean up: these revokes have no setup result (gcp-setup-cleanup.spec covers it). */
const NO_CLEANUP = {} as GcpSetupCleanup;

const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';

/** The real config with the Google emulator's client and URLs, plus `overrides` (environment). */
function configFor(google: FakeGoogle, overrides: Record<string, string> = {}): AppConfig {
  return testConfig({}, { ...google.env(), ...overrides });
}

/**
 * The GCP driver and its SDK edge (google-auth-library's OAuth2Client) against the Google
 * emulator: what a refresh returns, and how every way Google can fail is classified.
 */
describe('GcpDriver / GcpOAuthClient', () => {
  let google: FakeGoogle;
  let client: GcpOAuthClient;
  let driver: GcpDriver;
  const connection = { scopes: ['openid', CLOUD_PLATFORM] } as ConnectionEntity;

  beforeAll(async () => {
    google = await startFakeGoogle();
    const config = configFor(google);
    client = new GcpOAuthClient(config, 1_000);
    driver = new GcpDriver(client, config, NO_STEPS, NO_CLEANUP);
  });
  afterAll(() => google.close());
  afterEach(() => google.clearFaults());

  /** A real consent through the SDK: authorize URL → code → exchange with the PKCE verifier. */
  async function grant(): Promise<{ refreshToken: string; accessToken: string }> {
    const verifier = randomBytes(32).toString('base64url');
    const url = client.authorizeUrl({
      state: 's'.repeat(43),
      codeChallenge: createHash('sha256').update(verifier).digest('base64url'),
      scopes: ['openid', 'email', CLOUD_PLATFORM],
    });
    const res = await fetch(url, { redirect: 'manual' });
    const code = new URL(res.headers.get('location') ?? '').searchParams.get('code') ?? '';
    const tokens = await client.exchangeCode(code, verifier);
    if (!tokens.refreshToken) throw new Error('no refresh token');
    return { refreshToken: tokens.refreshToken, accessToken: tokens.accessToken };
  }

  it('exchanges a code only with the right PKCE verifier', async () => {
    const url = client.authorizeUrl({
      state: 's'.repeat(43),
      codeChallenge: 'x'.repeat(43),
      scopes: ['openid'],
    });
    const res = await fetch(url, { redirect: 'manual' });
    const code = new URL(res.headers.get('location') ?? '').searchParams.get('code') ?? '';
    await expectProviderError(client.exchangeCode(code, randomBytes(32).toString('base64url')), {
      kind: 'permanent',
      reason: 'invalid_grant',
      status: 400,
    });
    expect(google.calls.at(-1)?.form).toMatchObject({
      grant_type: 'authorization_code',
      client_id: google.clientId,
    });
  });

  it('refreshes: a new access token and expiry, the old refresh token kept, scope and type from Google', async () => {
    const { refreshToken, accessToken } = await grant();
    const result = await driver.refresh(connection, {
      refresh_token: refreshToken,
      access_token: accessToken,
    });
    expect(result.secret.refresh_token).toBe(refreshToken);
    expect(result.secret.access_token).toBe(google.grants.issued.access.at(-1));
    expect(result.secret.access_token).not.toBe(accessToken);
    expect(result.secret.token_type).toBe('Bearer');
    expect(result.scopes).toContain(CLOUD_PLATFORM);
    expect(result.secret.scope.split(' ')).toEqual(result.scopes);
    expect(result.expiresAt.getTime() - Date.now()).toBeGreaterThan(3500_000);
    expect(result.secret.expires_at).toBe(result.expiresAt.toISOString());
    expect(Object.keys(result.secret).sort()).toEqual(
      ['access_token', 'expires_at', 'refresh_token', 'scope', 'token_type'].sort(),
    );
  });

  it('classifies invalid_grant (a revoked or expired grant) as permanent', async () => {
    const { refreshToken } = await grant();
    await client.revoke(refreshToken);
    const err = await expectProviderError(
      driver.refresh(connection, { refresh_token: refreshToken }),
      { kind: 'permanent', reason: 'invalid_grant', status: 400 },
    );
    expect(err.message).not.toContain(refreshToken);
  });

  it('classifies invalid_client (the broker secret is wrong) as permanent', async () => {
    const { refreshToken } = await grant();
    const wrong = configFor(google, { GCP_CLIENT_SECRET: 'GOCSPX-wrong' });
    const err = await expectProviderError(
      new GcpDriver(new GcpOAuthClient(wrong), wrong, NO_STEPS, NO_CLEANUP).refresh(connection, {
        refresh_token: refreshToken,
      }),
      { kind: 'permanent', reason: 'invalid_client', status: 401 },
    );
    expect(err.message).not.toContain('GOCSPX');
  });

  it('classifies a missing stored refresh token as permanent without calling Google', async () => {
    const calls = google.calls.length;
    await expectProviderError(driver.refresh(connection, { access_token: 'ya29.x' }), {
      kind: 'permanent',
      reason: 'missing_refresh_token',
    });
    expect(google.calls.length).toBe(calls);
  });

  it.each([
    [503, 'upstream_unavailable'],
    [500, 'upstream_unavailable'],
    [429, 'rate_limited'],
  ])(
    'classifies HTTP %s as transient (%s), after one retry: two calls per refresh attempt',
    async (status, reason) => {
      const { refreshToken } = await grant();
      google.failToken({ kind: 'status', status }, 10);
      const calls = google.calls.length;
      await expectProviderError(driver.refresh(connection, { refresh_token: refreshToken }), {
        kind: 'transient',
        reason,
        status,
      });
      expect(google.calls.length - calls).toBe(2);
    },
  );

  it('a code exchange is one call that gives up at the timeout when Google hangs', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const url = client.authorizeUrl({
      state: 's'.repeat(43),
      codeChallenge: createHash('sha256').update(verifier).digest('base64url'),
      scopes: ['openid', 'email', CLOUD_PLATFORM],
    });
    const res = await fetch(url, { redirect: 'manual' });
    const code = new URL(res.headers.get('location') ?? '').searchParams.get('code') ?? '';
    google.failToken({ kind: 'hang' }, 10);
    const calls = google.calls.length;
    const started = Date.now();
    await expectProviderError(client.exchangeCode(code, verifier), {
      kind: 'transient',
      reason: 'timeout',
    });
    expect(Date.now() - started).toBeLessThan(1_900); // the client's 1 s, not 3 × 1 s + backoff
    expect(google.calls.length - calls).toBe(1);
  });

  it('a hung token endpoint costs a refresh attempt at most two calls', async () => {
    const { refreshToken } = await grant();
    google.failToken({ kind: 'hang' }, 10);
    const calls = google.calls.length;
    await expectProviderError(driver.refresh(connection, { refresh_token: refreshToken }), {
      kind: 'transient',
      reason: 'timeout',
    });
    expect(google.calls.length - calls).toBe(2);
  }, 10_000);

  it('classifies a garbled answer (HTML with 200) as transient bad_response', async () => {
    const { refreshToken } = await grant();
    google.failToken({ kind: 'garbage' });
    await expectProviderError(driver.refresh(connection, { refresh_token: refreshToken }), {
      kind: 'transient',
      reason: 'bad_response',
    });
  });

  it('classifies a Google that does not answer in time as transient timeout', async () => {
    const { refreshToken } = await grant();
    google.failToken({ kind: 'delay', ms: 1_500 }, 10);
    await expectProviderError(driver.refresh(connection, { refresh_token: refreshToken }), {
      kind: 'transient',
      reason: 'timeout',
    });
  }, 20_000);

  it('classifies a refused connection as transient network', async () => {
    const down = configFor(google, { GCP_TOKEN_URL: `http://127.0.0.1:${await freePort()}/token` });
    await expectProviderError(new GcpOAuthClient(down, 1_000).refresh('1//whatever'), {
      kind: 'transient',
      reason: 'network',
    });
  });

  it('revokes with the refresh token in the form body, which ends the grant', async () => {
    const { refreshToken } = await grant();
    const report = await driver.revoke(
      connection,
      { refresh_token: refreshToken, access_token: 'ya29.other' },
      NO_SETUP,
    );
    expect(report).toEqual({ removed: ['oauth_grant'], left: [] });
    const call = google.calls.at(-1);
    expect(call).toMatchObject({
      method: 'POST',
      path: '/revoke',
      form: { token: refreshToken },
      query: {},
    });
    expect(google.grants.refreshTokens.get(refreshToken)?.revoked).toBe(true);
  });

  it('treats revoking an already dead grant as done, and reports a failing revoke endpoint', async () => {
    const { refreshToken } = await grant();
    await driver.revoke(connection, { refresh_token: refreshToken }, NO_SETUP);
    await expect(
      driver.revoke(connection, { refresh_token: refreshToken }, NO_SETUP),
    ).resolves.toEqual({ removed: [], left: [] });
    expect(google.calls.at(-1)?.status).toBe(400);
    const live = await grant();
    google.failRevoke(503, 10);
    // Reported, not thrown: the caller audits what was left and deletes locally anyway.
    await expect(
      driver.revoke(connection, { refresh_token: live.refreshToken }, NO_SETUP),
    ).resolves.toEqual({
      removed: [],
      left: [{ resource: 'oauth_grant', reason: 'upstream_unavailable' }],
    });
  });

  it('reads the email from userinfo with the access token, and refuses a dead token', async () => {
    const { accessToken } = await grant();
    expect(await client.userinfo(accessToken)).toEqual({
      sub: google.account.sub,
      email: google.account.email,
    });
    expect(google.calls.at(-1)?.authorization).toBe(`Bearer ${accessToken}`);
    await expectProviderError(client.userinfo('ya29.unknown'), { kind: 'transient', status: 401 });
  });

  it('is enabled only with a client id and secret', () => {
    expect(driver.isEnabled()).toBe(true);
    const off = configFor(google, { GCP_CLIENT_ID: '', GCP_CLIENT_SECRET: '' });
    expect(new GcpDriver(new GcpOAuthClient(off), off, NO_STEPS, NO_CLEANUP).isEnabled()).toBe(
      false,
    );
  });
});
