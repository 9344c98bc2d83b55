import { randomBytes, randomUUID } from 'node:crypto';
import { type FakeAzure, startFakeAzure } from '../../fakes/azure/fake-azure';
import { BrokerHarness } from '../../support/broker';
import { useBrowser } from '../../support/browser';

const TENANT = randomUUID();
const CLIENT = randomUUID();
const SECRET = `azs~${randomBytes(18).toString('base64url')}`;
const WRONG = `azs~${randomBytes(18).toString('base64url')}`;
const SUB = randomUUID();

/** The connect page in Chromium: its policy, its accessible controls, and the Azure form. */
describe('connect page in a browser', () => {
  let azure: FakeAzure;
  let broker: BrokerHarness;
  let token = '';
  const browser = useBrowser({ headers: () => ({ authorization: `Bearer ${token}` }) });

  beforeAll(async () => {
    azure = await startFakeAzure();
    azure.addApp(TENANT, {
      clientId: CLIENT,
      secret: SECRET,
      subscriptions: [{ subscriptionId: SUB, displayName: 'Prod', state: 'Enabled' }],
    });
    broker = await BrokerHarness.start({
      env: {
        ...azure.env(),
        RATE_LIMIT_LOGIN_PER_MINUTE: '1000',
      },
    });
    token = await broker.userToken(`browser-${randomBytes(3).toString('hex')}`);
  });
  afterAll(async () => {
    await broker?.close();
    await azure?.close();
  });

  browser.it(
    'renders under a CSP without inline script, every control named',
    async ({ page, console }) => {
      const res = await page.goto(`${broker.url}/connect`);
      const csp = res?.headers()['content-security-policy'] ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("style-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      expect(res?.headers()['cache-control']).toBe('no-store');
      expect(res?.headers()['referrer-policy']).toBe('same-origin');
      // An inline script is refused by the browser itself, and says so on the console.
      // (Strings, not functions: the test code is compiled without the DOM's types.)
      await page.evaluate(
        `(() => { const s = document.createElement('script'); s.textContent = 'window.inlineRan = true'; document.body.append(s); })()`,
      );
      expect(await page.evaluate('window.inlineRan')).toBeUndefined();
      expect(console.filter((m) => /Content Security Policy/i.test(m))).toHaveLength(1);
      console.length = 0;
      await page.reload();
      await page.waitForLoadState('networkidle');
      expect(console.filter((m) => /Content Security Policy|error/i.test(m))).toEqual([]);
      // The stylesheet applied (so it loaded under the policy).
      expect(await page.evaluate('getComputedStyle(document.body).margin')).toBe('0px');

      const named = [
        page.getByRole('button', { name: 'Sign out' }),
        page.getByRole('button', { name: 'Connect Azure', exact: true }),
        page.getByRole('button', { name: 'Connect Tailscale' }),
        page.getByRole('textbox', { name: 'Tenant id' }),
        page.getByRole('textbox', { name: 'Application (client) id' }),
        page.getByLabel('Client secret', { exact: true }),
        page.getByRole('textbox', { name: 'Subscription id (optional)' }),
        page.getByRole('textbox', { name: 'OAuth client id' }),
        page.getByLabel('OAuth client secret'),
        page.getByRole('textbox', { name: 'Tailnet (optional)' }),
      ];
      for (const control of named) await control.waitFor({ state: 'visible', timeout: 5000 });
      const controls = await page.locator('button, input:not([type=hidden]), select').count();
      expect(controls).toBe(named.length);
    },
  );

  browser.it('connects Azure through the form; a bad secret is said in words', async ({ page }) => {
    await page.goto(`${broker.url}/connect`);
    await page.getByRole('textbox', { name: 'Tenant id' }).fill(TENANT);
    await page.getByRole('textbox', { name: 'Application (client) id' }).fill(CLIENT);
    await page.getByLabel('Client secret', { exact: true }).fill(WRONG);
    const [bad] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/connect/azure')),
      page.getByRole('button', { name: 'Connect Azure', exact: true }).click(),
    ]);
    expect(bad.status()).toBe(401);
    expect(await page.getByRole('alert').textContent()).toMatch(
      /Azure rejected the client id or the client secret/,
    );
    expect(await page.content()).not.toContain(WRONG);
    // The form keeps what was typed, except the secret.
    expect(await page.getByRole('textbox', { name: 'Tenant id' }).inputValue()).toBe(TENANT);
    expect(await page.getByLabel('Client secret', { exact: true }).inputValue()).toBe('');

    await page.getByLabel('Client secret', { exact: true }).fill(SECRET);
    await page.getByRole('button', { name: 'Connect Azure', exact: true }).click();
    await page.waitForURL(/\/connect\?notice=connected$/);
    expect(await page.getByRole('status').textContent()).toBe('The account is connected.');
    const row = page.locator('li.connection', { hasText: `${TENANT}/${SUB}` });
    expect(await row.textContent()).toContain('Active');
    await row.getByRole('button', { name: /^Disconnect Azure / }).waitFor();
    expect(await row.locator('time').getAttribute('datetime')).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });

  browser.it('shows field errors next to the fields, with 400', async ({ page }) => {
    await page.goto(`${broker.url}/connect`);
    await page.getByRole('textbox', { name: 'Tenant id' }).fill('not a tenant');
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/connect/azure')),
      page.getByRole('button', { name: 'Connect Azure', exact: true }).click(),
    ]);
    expect(res.status()).toBe(400);
    const tenant = page.getByRole('textbox', { name: 'Tenant id' });
    expect(await tenant.getAttribute('aria-invalid')).toBe('true');
    const describedBy = (await tenant.getAttribute('aria-describedby')) ?? '';
    const parts = await Promise.all(
      describedBy.split(' ').map((id) => page.locator(`[id="${id}"]`).textContent()),
    );
    const description = parts.join(' ');
    expect(description).toMatch(/must be a tenant id/);
  });
});
