import { randomBytes } from 'node:crypto';
import { type FakeSts, startFakeSts } from '../../fakes/aws/fake-sts';
import { BrokerHarness } from '../../support/broker';
import { useBrowser } from '../../support/browser';

const ROLE = 'arn:aws:iam::444444444444:role/browser-deploy';

/** The connect page's AWS section in Chromium: the policy to paste, then the role form. */
describe('connect AWS in a browser', () => {
  let sts: FakeSts;
  let broker: BrokerHarness;
  let token = '';
  const browser = useBrowser({ headers: () => ({ authorization: `Bearer ${token}` }) });

  beforeAll(async () => {
    sts = await startFakeSts();
    broker = await BrokerHarness.start({
      env: { ...sts.env({ principalArn: true }), RATE_LIMIT_LOGIN_PER_MINUTE: '1000' },
    });
    token = await broker.userToken(`browser-${randomBytes(3).toString('hex')}`);
  });
  afterAll(async () => {
    await broker?.close();
    await sts?.close();
  });

  browser.it(
    'shows the trust policy and connects a role through the form',
    async ({ page, console }) => {
      await page.goto(`${broker.url}/connect`);
      await page.getByRole('heading', { name: 'Connect AWS' }).waitFor({ timeout: 5000 });
      const externalId = (await page.locator('#aws-external-id').textContent()) ?? '';
      expect(externalId).toMatch(/^cbk-[0-9a-f]{32}$/);
      expect(await page.locator('#aws-principal').textContent()).toBe(sts.broker.principalArn);
      const policy = JSON.parse((await page.locator('pre.policy').textContent()) ?? '{}') as {
        Statement: { Condition: unknown; Principal: unknown }[];
      };
      expect(policy.Statement[0]).toMatchObject({
        Principal: { AWS: sts.broker.principalArn },
        Condition: { StringEquals: { 'sts:ExternalId': externalId } },
      });

      // Not attached yet: AWS denies, the page says so in words and keeps what was typed.
      await page.getByRole('textbox', { name: 'Role ARN' }).fill(ROLE);
      await page.getByRole('button', { name: 'Connect AWS' }).click();
      await page.getByRole('alert').filter({ hasText: 'did not let the broker assume the role' }).waitFor({ timeout: 5000 }); // prettier-ignore
      expect(await page.getByRole('textbox', { name: 'Role ARN' }).inputValue()).toBe(ROLE);

      sts.addRole({ arn: ROLE, trustedPrincipal: sts.broker.principalArn, externalId });
      await page
        .getByRole('textbox', { name: 'Session duration in seconds (optional)' })
        .fill('1800');
      await page.getByRole('button', { name: 'Connect AWS' }).click();
      await page.waitForURL(/\/connect\?notice=connected$/);
      const row = page.locator('li.connection', { hasText: 'browser-deploy (444444444444)' });
      await row.waitFor({ timeout: 5000 });
      expect(await row.textContent()).toContain(ROLE);
      expect(await row.locator('.connection-status').textContent()).toBe('Active');
      expect(sts.assumeRoleCalls(ROLE).at(-2)?.params.DurationSeconds).toBe('1800');
      // (The 422 of the refused attempt and a favicon 404 are the only console errors.)
      expect(console.filter((m) => /Content Security Policy/i.test(m))).toEqual([]);
    },
  );
});
