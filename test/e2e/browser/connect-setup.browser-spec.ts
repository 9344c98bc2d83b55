import { randomBytes } from 'node:crypto';
import { type FakeGoogle, startFakeGoogle } from '../../fakes/google/fake-google';
import { type FakeGoogleApis, startFakeGoogleApis } from '../../fakes/google-apis/fake-google-apis';
import { type FakeTailscale, startFakeTailscale } from '../../fakes/tailscale/fake-tailscale';
import { BrokerHarness } from '../../support/broker';
import { eventually, useBrowser } from '../../support/browser';
import { fastGcpSetupEnv } from '../../support/setup-runs';

const TS = {
  clientId: 'kBrowser1CNTRL',
  secret: `tskey-client-kB${randomBytes(5).toString('hex')}CNTRL-${randomBytes(16).toString('hex')}`,
  tailnet: 'browser.example',
};

/** Connect, watch setup, disconnect, in Chromium: Tailscale by its form, Google by consent + claim. */
describe('connect page: setup progress in a browser', () => {
  let ts: FakeTailscale;
  let google: FakeGoogle;
  let apis: FakeGoogleApis;
  let broker: BrokerHarness;
  let token = '';
  const browser = useBrowser({ headers: () => ({ authorization: `Bearer ${token}` }) });

  beforeAll(async () => {
    ts = await startFakeTailscale();
    ts.addClient({ ...TS, scopes: ['devices:core:read', 'policy_file', 'auth_keys'] });
    ts.setDevices(TS.tailnet, [{ name: 'web.tail1.ts.net', user: 'alice@example.com' }]);
    google = await startFakeGoogle();
    apis = await startFakeGoogleApis({
      isValidToken: (t) => google.grants.liveAccessToken(t) !== undefined,
    });
    apis.setProjects([
      { projectId: 'browser-one', name: 'Browser one', billingEnabled: true },
      { projectId: 'browser-two', name: 'Browser two', billingEnabled: true },
    ]);
    google.account = { sub: '104857600000000009999', email: 'alice@example.com' };
    broker = await BrokerHarness.start({
      env: {
        ...google.env(),
        TAILSCALE_API_URL: ts.url,
        RATE_LIMIT_LOGIN_PER_MINUTE: '1000',
        SETUP_JOB_BACKOFF_MS: '100',
        ...fastGcpSetupEnv(apis.url),
        GCP_SETUP_MAX_PROJECTS: '3',
      },
    });
    await broker.startWorker();
    token = await broker.userToken(`browser-setup-${randomBytes(3).toString('hex')}`);
  });
  afterAll(async () => {
    await broker?.close();
    await apis?.close();
    await google?.close();
    await ts?.close();
  });

  browser.it(
    'connects Tailscale, shows setup reach succeeded, then disconnects',
    async ({ page }) => {
      await page.goto(`${broker.url}/connect`);
      await page.getByRole('textbox', { name: 'OAuth client id' }).fill(TS.clientId);
      await page.getByLabel('OAuth client secret').fill(TS.secret);
      await page.getByRole('button', { name: 'Connect Tailscale', exact: true }).click();
      await page.waitForURL(/\/connect\?notice=connected$/);
      const row = page.locator('li.connection', { hasText: 'Tailscale' });
      // The poller updates the steps and reloads the page once setup is done.
      await eventually(async () => {
        expect(await row.locator('.setup-status').textContent()).toBe('Succeeded');
      }, 30_000);
      expect(await row.locator('progress').getAttribute('value')).toBe('100');
      expect(await row.locator('[data-step-status]').allTextContents()).toEqual([
        'done',
        'done',
        'done',
      ]);

      await row.getByRole('button', { name: /^Disconnect Tailscale / }).click();
      await page.waitForURL(/\/connect\?notice=disconnected$/);
      expect(await page.getByRole('status').textContent()).toBe('The account is disconnected.');
      expect(await row.locator('.connection-status').textContent()).toBe('Revoked');
      expect(await row.getByRole('button').count()).toBe(0);
    },
    50_000,
  );

  browser.it(
    'connects Google Cloud through the consent; the page claims it and setup succeeds',
    async ({ page }) => {
      await page.goto(`${broker.url}/connect`);
      await page.getByRole('button', { name: 'Connect Google Cloud', exact: true }).click();
      // Google's consent (emulated) → /gcp/callback → /connect?status=claim → the claim form.
      await page.waitForURL(/\/connect\?notice=connected$/, { timeout: 15_000 });
      const row = page.locator('li.connection', { hasText: 'alice@example.com' });
      await eventually(async () => {
        expect(await row.locator('.setup-status').textContent()).toBe('Succeeded');
      }, 40_000);
      await row.getByRole('button', { name: 'Refresh Google Cloud alice@example.com' }).click();
      await page.waitForURL(/\/connect\?notice=refreshed$/);
      expect(await page.getByRole('status').textContent()).toBe('The token was refreshed.');
    },
    55_000,
  );
});
