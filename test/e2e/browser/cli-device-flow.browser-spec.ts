import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type FakeGithub,
  startFakeGithub,
  verifiedGithubUser,
} from '../../fakes/github/fake-github';
import { type FakeGoogle, startFakeGoogle } from '../../fakes/google/fake-google';
import { BrokerHarness } from '../../support/broker';
import { eventually, useBrowser } from '../../support/browser';
import { type SeededGcp, seedGcpConnection } from '../../support/lifecycle-seed';
import { runBuilt } from '../../support/processes';

/**
 * `cbk` against a broker (SPEC §11): `cbk login` runs the device flow while the person approves
 * in Chromium as they would (the code page, GitHub sign-in, the consent page); then
 * `cbk connections` and `cbk token` read through the API with the broker's own token, and
 * `cbk logout` revokes it. No token value of the authorization server lands in Redis or Postgres.
 */
describe('cbk CLI: device flow and tokens (browser)', () => {
  let github: FakeGithub;
  let google: FakeGoogle;
  let broker: BrokerHarness;
  let seeded: SeededGcp;
  const configDir = mkdtempSync(join(tmpdir(), 'cbk-cli-'));
  const browser = useBrowser();

  beforeAll(async () => {
    github = await startFakeGithub({
      consent: 'page',
      users: [verifiedGithubUser(77, 'ada', 'Ada Lovelace', 'ada@example.com')],
    });
    google = await startFakeGoogle();
    broker = await BrokerHarness.start({
      env: {
        ...github.env(),
        ...google.env(),
        LOGIN_PROVIDERS: 'github',
        LOGIN_ALLOWED_USERS: 'ada',
      },
    });
    seeded = await seedGcpConnection(broker, google, {
      userId: 'github:77',
      expiresInSeconds: 3600,
    });
  });
  afterAll(async () => {
    await broker?.close();
    await github?.close();
    await google?.close();
  });

  const cbk = async (...args: string[]) => {
    const proc = runBuilt('cli', { CBK_CONFIG_DIR: configDir, HOME: configDir }, args);
    const { code } = await proc.exited;
    return { code, output: proc.output() };
  };

  browser.it(
    'signs in with the device flow, lists connections, prints a token, logs out',
    async ({ page }) => {
      const login = runBuilt('cli', { CBK_CONFIG_DIR: configDir, HOME: configDir }, [
        'login',
        '--url',
        broker.url,
      ]);
      let complete = '';
      await eventually(async () => {
        const match = /\(or open (\S+)\)/.exec(login.output());
        expect(match).not.toBeNull();
        complete = match?.[1] ?? '';
      }, 15_000);
      expect(login.output()).toMatch(/enter the code: [A-Z]{4}-[A-Z]{4}/);

      // The person: the code page, sign-in with GitHub, consent.
      await page.goto(complete);
      await page.getByRole('button', { name: 'Yes, it is my device' }).click();
      await page.getByRole('button', { name: 'Authorize' }).click();
      await page
        .getByRole('heading', { name: 'cbk command-line tool wants to act for you' })
        .waitFor();
      expect(await page.getByText('read short-lived access tokens').count()).toBe(1);
      await page.getByRole('button', { name: 'Allow' }).click();
      await page.getByText('is signed in').waitFor();

      const done = await login.exited;
      expect([done.code, login.output()]).toEqual([0, expect.stringContaining('Signed in to')]);
      const file = join(configDir, 'credentials.json');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const stored = JSON.parse(readFileSync(file, 'utf8')) as {
        accessToken: string;
        refreshToken: string;
      };

      const list = await cbk('connections');
      expect(list.code).toBe(0);
      expect(list.output).toContain(seeded.connection.id);
      const token = await cbk('token', seeded.connection.id);
      expect([token.code, token.output.trim()]).toEqual([0, seeded.accessToken]);
      const foreign = await cbk('token', '00000000-0000-4000-8000-000000000000');
      expect(foreign.code).toBe(1);
      expect(foreign.output).toMatch(/no such connection/);

      // The broker's own tokens are nowhere in Redis or Postgres (only their hashes).
      const places = `${await broker.dumpRedis()}\n${await broker.dumpDatabase()}`;
      expect([stored.accessToken, stored.refreshToken].filter((t) => places.includes(t))).toEqual(
        [],
      );

      const logout = await cbk('logout');
      expect(logout.code).toBe(0);
      const refused = await fetch(`${broker.url}/oauth/token`, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: stored.refreshToken,
          client_id: 'cbk-cli',
        }),
      });
      expect(((await refused.json()) as { error: string }).error).toBe('invalid_grant');
      const after = await cbk('connections');
      expect([after.code, after.output]).toEqual([3, expect.stringContaining('not signed in')]);
    },
    60_000,
  );
});
