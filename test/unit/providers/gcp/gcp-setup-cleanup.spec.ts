import { createHash, randomBytes } from 'node:crypto';
import { Clock, SYSTEM_CLOCK } from '../../../../src/common/clock';
import { type ConnectionEntity } from '../../../../src/database/entities';
import { GcpOAuthClient } from '../../../../src/providers/gcp/gcp-oauth.client';
import {
  CLEANUP_BUDGET_MS,
  GcpSetupCleanup,
  gcpSetupInventory,
} from '../../../../src/providers/gcp/gcp-setup-cleanup';
import { GcpDriver } from '../../../../src/providers/gcp/gcp.driver';
import { GcpSetupClient } from '../../../../src/providers/gcp/setup/gcp-setup.client';
import { type GcpSetup } from '../../../../src/providers/gcp/setup/gcp-setup.definition';
import {
  IamPolicyEditor,
  withBindings,
  withoutMembers,
} from '../../../../src/providers/gcp/setup/iam-policy-editor';
import { type FakeGoogle, startFakeGoogle } from '../../../fakes/google/fake-google';
import {
  type FakeGoogleApis,
  startFakeGoogleApis,
} from '../../../fakes/google-apis/fake-google-apis';
import { testConfig } from '../../../support/test-config';

const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';

/**
 * GcpDriver.revoke undoing setup against the OAuth and Cloud API emulators: keys, bindings and
 * service accounts go before the grant, with a token minted for the purpose, and whatever Google
 * refuses is reported instead of stopping the rest.
 */
describe('GcpDriver.revoke: undoing setup upstream', () => {
  let google: FakeGoogle;
  let apis: FakeGoogleApis;
  let driver: GcpDriver;
  let setupClient: GcpSetupClient;
  let policies: IamPolicyEditor;
  let n = 0;
  const connection = { scopes: ['openid', CLOUD_PLATFORM] } as ConnectionEntity;

  beforeAll(async () => {
    google = await startFakeGoogle();
    apis = await startFakeGoogleApis({
      isValidToken: (t) => google.grants.liveAccessToken(t) !== undefined,
    });
    const config = testConfig(
      {},
      { ...google.env(), GCP_API_ROOT_URL: apis.url, GCP_SETUP_RETRY_BASE_MS: '10' },
    );
    const oauth = new GcpOAuthClient(config, 1_000);
    setupClient = new GcpSetupClient(config);
    policies = new IamPolicyEditor(setupClient, SYSTEM_CLOCK, config);
    driver = new GcpDriver(
      oauth,
      config,
      {} as GcpSetup,
      new GcpSetupCleanup(setupClient, policies, SYSTEM_CLOCK),
    );
  });
  afterAll(async () => {
    await apis.close();
    await google.close();
  });
  afterEach(() => {
    google.clearFaults();
    apis.allow('serviceAccounts.delete');
    apis.allow('keys.delete');
    apis.etagConflicts = 0;
  });

  /** A consented grant, and what a finished setup left: two accounts bound in two projects. */
  async function setUp() {
    n += 1;
    const verifier = randomBytes(32).toString('base64url');
    const oauth = new GcpOAuthClient(testConfig({}, google.env()), 1_000);
    const url = oauth.authorizeUrl({
      state: 's'.repeat(43),
      codeChallenge: createHash('sha256').update(verifier).digest('base64url'),
      scopes: ['openid', 'email', CLOUD_PLATFORM],
    });
    const res = await fetch(url, { redirect: 'manual' });
    const code = new URL(res.headers.get('location') ?? '').searchParams.get('code') ?? '';
    const tokens = await oauth.exchangeCode(code, verifier);
    const root = `root-${n}`;
    const other = `other-${n}`;
    const token = tokens.accessToken;
    const rw = (await setupClient.createServiceAccount(token, root, `cbk-rw-${n}`, 'rw')).email;
    const ro = (await setupClient.createServiceAccount(token, root, `cbk-ro-${n}`, 'ro')).email;
    for (const project of [root, other]) {
      await policies.update(
        async () => token,
        project,
        (p) =>
          withBindings(p, [
            ['roles/bigquery.dataEditor', `serviceAccount:${rw}`],
            ['roles/viewer', `serviceAccount:${ro}`],
          ]),
      );
    }
    const result = {
      steps: {
        service_accounts: {
          root_project_id: root,
          accounts: { rw: { email: rw }, ro: { email: ro } },
        },
        iam_bindings: { done: [root, other] },
      },
    };
    return { secret: { refresh_token: tokens.refreshToken ?? '', access_token: 'ya29.expired' }, result, root, other, rw, ro }; // prettier-ignore
  }

  const members = (project: string) => apis.policy(project).bindings.flatMap((b) => b.members);

  it('reads the inventory from the run result, and nothing from a run that made no account', () => {
    expect(gcpSetupInventory(null)).toBeNull();
    expect(gcpSetupInventory({ steps: { list_projects: { projects: [] } } })).toBeNull();
    expect(
      gcpSetupInventory({
        steps: {
          service_accounts: { root_project_id: 'r', accounts: { rw: { email: 'a@r.iam' } } },
          iam_bindings: { done: ['x', 'r'] },
        },
      }),
    ).toEqual({ rootProjectId: 'r', emails: ['a@r.iam'], boundProjects: ['x', 'r'] });
  });

  it('removes the accounts from every binding, deleted forms included, and keeps the rest', () => {
    const policy = {
      etag: 'e',
      bindings: [
        { role: 'roles/owner', members: ['user:o@example.com'] },
        { role: 'roles/editor', members: ['serviceAccount:a@p', 'user:x@example.com'] },
        { role: 'roles/viewer', members: ['deleted:serviceAccount:a@p?uid=123'] },
        {
          role: 'roles/browser',
          members: ['serviceAccount:a@p'],
          condition: { expression: 'true' },
        },
      ],
    };
    expect(withoutMembers(policy, ['serviceAccount:a@p'])).toEqual({
      etag: 'e',
      version: 3,
      bindings: [
        { role: 'roles/owner', members: ['user:o@example.com'] },
        { role: 'roles/editor', members: ['user:x@example.com'] },
      ],
    });
    expect(withoutMembers(policy, ['serviceAccount:b@p'])).toBeNull();
  });

  it('deletes keys, bindings and accounts with a fresh token, then revokes the grant', async () => {
    const made = await setUp();
    const key = apis.addKey(made.rw);
    apis.etagConflicts = 1; // one concurrent writer: read again and retry
    const report = await driver.revoke(connection, made.secret, {
      secret: null,
      result: made.result,
    });
    expect(report).toEqual({
      removed: [
        key,
        `projects/${made.root}/iamPolicy`,
        `projects/${made.other}/iamPolicy`,
        `projects/${made.root}/serviceAccounts/${made.rw}`,
        `projects/${made.root}/serviceAccounts/${made.ro}`,
        'oauth_grant',
      ],
      left: [],
    });
    expect(apis.serviceAccounts(made.root)).toEqual([]);
    expect(apis.keysOf(made.rw)).toEqual([]);
    for (const project of [made.root, made.other]) {
      expect(members(project)).toEqual(['user:owner@example.com']);
    }
    // Only user-managed keys are asked for; the expired stored token was never used.
    const lists = apis.callsOf('keys.list');
    expect(lists.at(-1)?.query.keyTypes).toEqual(['USER_MANAGED']);
    expect(apis.calls.filter((c) => c.status === 401)).toEqual([]);
    expect(google.grants.refreshTokens.get(made.secret.refresh_token)?.revoked).toBe(true);
    expect(JSON.stringify(report)).not.toMatch(/ya29\.|1\/\//);
  });

  it('reports a refused delete and still does the rest', async () => {
    const made = await setUp();
    apis.deny('serviceAccounts.delete', 'iam.serviceAccounts.delete');
    const report = await driver.revoke(connection, made.secret, {
      secret: null,
      result: made.result,
    });
    expect(report.left).toEqual([
      { resource: `projects/${made.root}/serviceAccounts/${made.rw}`, reason: 'forbidden' },
      { resource: `projects/${made.root}/serviceAccounts/${made.ro}`, reason: 'forbidden' },
    ]);
    expect(report.removed).toEqual([
      `projects/${made.root}/iamPolicy`,
      `projects/${made.other}/iamPolicy`,
      'oauth_grant',
    ]);
    expect(apis.serviceAccounts(made.root)).toHaveLength(2);
    expect(members(made.other)).toEqual(['user:owner@example.com']);
    expect(google.grants.refreshTokens.get(made.secret.refresh_token)?.revoked).toBe(true);
  });

  it('reports what it had no time left to try as timed_out, and still revokes the grant', async () => {
    const made = await setUp();
    // The budget starts at 0; every later reading is long past it.
    let readings = 0;
    const late = new (class extends Clock {
      override now(): number {
        return readings++ === 0 ? 0 : CLEANUP_BUDGET_MS + 1;
      }
    })();
    const config = testConfig({}, { ...google.env(), GCP_API_ROOT_URL: apis.url });
    const slow = new GcpDriver(
      new GcpOAuthClient(config, 1_000),
      config,
      {} as GcpSetup,
      new GcpSetupCleanup(setupClient, policies, late),
    );
    const report = await slow.revoke(connection, made.secret, {
      secret: null,
      result: made.result,
    });
    expect(report.removed).toEqual(['oauth_grant']);
    expect(new Set(report.left.map((l) => l.reason))).toEqual(new Set(['timed_out']));
    expect(report.left).toHaveLength(4); // two policies, two accounts
    expect(apis.serviceAccounts(made.root)).toHaveLength(2);
  });

  it('leaves everything it lists when no token can be minted, and calls the grant dead', async () => {
    const made = await setUp();
    const grant = google.grants.refreshTokens.get(made.secret.refresh_token);
    if (grant) grant.revoked = true; // the user removed the app in their Google account
    const before = apis.calls.length;
    const report = await driver.revoke(connection, made.secret, {
      secret: null,
      result: made.result,
    });
    expect(apis.calls.length).toBe(before);
    expect(report.removed).toEqual([]);
    expect(report.left.map((l) => l.reason)).toEqual(Array(4).fill('invalid_grant'));
    expect(report.left.map((l) => l.resource)).toEqual([
      `projects/${made.root}/serviceAccounts/${made.rw}`,
      `projects/${made.root}/serviceAccounts/${made.ro}`,
      `projects/${made.root}/iamPolicy`,
      `projects/${made.other}/iamPolicy`,
    ]);
  });
});
