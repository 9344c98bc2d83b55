import { randomBytes } from 'node:crypto';
import { type FakeAzure, startFakeAzure } from '../../fakes/azure/fake-azure';
import {
  type FakeGithub,
  startFakeGithub,
  verifiedGithubUser,
} from '../../fakes/github/fake-github';
import { type FakeGoogle, startFakeGoogle } from '../../fakes/google/fake-google';
import { type FakeGoogleApis, startFakeGoogleApis } from '../../fakes/google-apis/fake-google-apis';
import { type FakeOvh, startFakeOvh } from '../../fakes/ovh/fake-ovh';
import { type FakeTailscale, startFakeTailscale } from '../../fakes/tailscale/fake-tailscale';
import { BrokerHarness } from '../../support/broker';
import { eventually, useBrowser } from '../../support/browser';
import { fastGcpSetupEnv } from '../../support/setup-runs';

const AZURE = {
  tenant: '7c2f1a4e-0b3d-4e8f-9a61-2d5c8b7e4f10',
  client: '3f9d6b2a-8c41-4e7a-b5d0-1a2b3c4d5e6f',
  secret: `az~${randomBytes(12).toString('hex')}`,
  subscription: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
};
const TS = {
  clientId: 'kSignIn1CNTRL',
  secret: `tskey-client-kS${randomBytes(5).toString('hex')}CNTRL-${randomBytes(16).toString('hex')}`,
  tailnet: 'signin.example',
};

/**
 * A person, end to end in Chromium (SPEC §9, §10): signs in with GitHub on its consent page,
 * connects Google Cloud (the callback sees the session: connected at once, no claim step),
 * OVHcloud, Azure and Tailscale from the connect page, watches setup succeed, disconnects and
 * signs out. No bearer token anywhere: the session cookie is the only credential.
 */
describe('sign in and connect every provider (browser)', () => {
  let github: FakeGithub;
  let google: FakeGoogle;
  let apis: FakeGoogleApis;
  let ovh: FakeOvh;
  let azure: FakeAzure;
  let ts: FakeTailscale;
  let broker: BrokerHarness;
  const browser = useBrowser({ ignoreHTTPSErrors: true });

  beforeAll(async () => {
    github = await startFakeGithub({
      consent: 'page',
      appName: 'Broker under test',
      users: [verifiedGithubUser(77, 'ada', 'Ada Lovelace', 'ada@example.com')],
    });
    google = await startFakeGoogle();
    google.account = { sub: '104857600000000007777', email: 'ada@gmail.example' };
    apis = await startFakeGoogleApis({
      isValidToken: (t) => google.grants.liveAccessToken(t) !== undefined,
    });
    apis.setProjects([{ projectId: 'ada-one', name: 'Ada one', billingEnabled: true }]);
    ovh = await startFakeOvh();
    azure = await startFakeAzure();
    azure.addApp(AZURE.tenant, {
      clientId: AZURE.client,
      secret: AZURE.secret,
      subscriptions: [
        { subscriptionId: AZURE.subscription, displayName: 'Prod', state: 'Enabled' },
      ],
    });
    ts = await startFakeTailscale();
    ts.addClient({ ...TS, scopes: ['devices:core:read', 'policy_file', 'auth_keys'] });
    ts.setDevices(TS.tailnet, [{ name: 'web.tail1.ts.net', user: 'ada@example.com' }]);
    broker = await BrokerHarness.start({
      env: {
        ...github.env(),
        LOGIN_PROVIDERS: 'github',
        LOGIN_ALLOWED_USERS: 'ada',
        ...google.env(),
        ...fastGcpSetupEnv(apis.url),
        OVH_EU_CLIENT_ID: ovh.clientId,
        OVH_EU_CLIENT_SECRET: ovh.clientSecret,
        OVH_EU_AUTH_URL: ovh.authUrl,
        OVH_EU_API_URL: ovh.apiUrl,
        ...azure.env(),
        TAILSCALE_API_URL: ts.url,
        RATE_LIMIT_LOGIN_PER_MINUTE: '1000',
        SETUP_JOB_BACKOFF_MS: '100',
      },
    });
    await broker.startWorker();
  });
  afterAll(async () => {
    await broker?.close();
    await Promise.all([github, google, apis, ovh, azure, ts].map((f) => f?.close()));
  });

  browser.it(
    'signs in, connects Google Cloud, OVHcloud, Azure and Tailscale, disconnects, signs out',
    async ({ page, context }) => {
      await page.goto(`${broker.url}/connect`);
      await page.getByRole('link', { name: 'Sign in with GitHub' }).click();
      // GitHub's consent page (emulated): the person authorizes the OAuth app.
      await page.getByRole('heading', { name: 'Authorize Broker under test' }).waitFor();
      await page.getByRole('button', { name: 'Authorize' }).click();
      await page.waitForURL(`${broker.url}/connect`);
      expect(await page.getByText('Signed in as').textContent()).toContain('Ada Lovelace');
      const cookies = await context.cookies(broker.url);
      expect(cookies.map((c) => [c.name, c.httpOnly, c.sameSite])).toEqual([
        ['cbk_session', true, 'Lax'],
      ]);

      // Google Cloud: consent, and the callback carries the session: connected at once.
      await page.getByRole('button', { name: 'Connect Google Cloud', exact: true }).click();
      await page.waitForURL(/\/connect\?provider=gcp&status=connected&connection_id=/);
      const gcp = page.locator('li.connection', { hasText: 'ada@gmail.example' });
      await eventually(async () => {
        expect(await gcp.locator('.setup-status').textContent()).toBe('Succeeded');
      }, 40_000);

      // OVHcloud (EU), the same way.
      await page.getByLabel('Region').selectOption('eu');
      await page.getByRole('button', { name: 'Connect OVHcloud', exact: true }).click();
      await page.waitForURL(/\/connect\?provider=ovh&status=connected&connection_id=/);
      await page.locator('li.connection', { hasText: 'OVHcloud' }).waitFor();

      // Azure and Tailscale by their forms.
      await page.getByRole('textbox', { name: 'Tenant id' }).fill(AZURE.tenant);
      await page.getByRole('textbox', { name: 'Application (client) id' }).fill(AZURE.client);
      await page.getByLabel('Client secret', { exact: true }).fill(AZURE.secret);
      await page.getByRole('button', { name: 'Connect Azure', exact: true }).click();
      await page.waitForURL(/\/connect\?notice=connected$/);
      await page.locator('li.connection', { hasText: 'Azure' }).waitFor();

      await page.getByRole('textbox', { name: 'OAuth client id' }).fill(TS.clientId);
      await page.getByLabel('OAuth client secret').fill(TS.secret);
      await page.getByRole('button', { name: 'Connect Tailscale', exact: true }).click();
      await page.waitForURL(/\/connect\?notice=connected$/);
      const tailscale = page.locator('li.connection', { hasText: 'Tailscale' });
      await eventually(async () => {
        expect(await tailscale.locator('.setup-status').textContent()).toBe('Succeeded');
      }, 30_000);

      // The session is a user caller of the JSON API too: four connections, all active.
      const list = await page.evaluate(async () => {
        const res = await fetch('/connections');
        return (await res.json()) as { items: { provider: string; status: string }[] };
      });
      expect(list.items.map((c) => `${c.provider}:${c.status}`).sort()).toEqual([
        'azure:active',
        'gcp:active',
        'ovh:active',
        'tailscale:active',
      ]);

      await gcp.getByRole('button', { name: /^Disconnect Google Cloud / }).click();
      await page.waitForURL(/\/connect\?notice=disconnected$/);
      expect(await gcp.locator('.connection-status').textContent()).toBe('Revoked');

      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL(/\/connect\?notice=signed_out$/);
      await page.getByRole('link', { name: 'Sign in with GitHub' }).waitFor();
      const me = await page.evaluate(async () => (await fetch('/auth/me')).status);
      expect(me).toBe(401);
    },
    90_000,
  );
});
