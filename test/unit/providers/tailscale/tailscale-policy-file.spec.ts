import { type ConnectionEntity } from '../../../../src/database/entities';
import { type SetupContext } from '../../../../src/providers/setup-step';
import { AclTagOwnerStep } from '../../../../src/providers/tailscale/setup/tailscale-setup.steps';
import {
  TailscaleApiError,
  TailscaleClient,
} from '../../../../src/providers/tailscale/tailscale-client';
import { type FakeTailscale, startFakeTailscale } from '../../../fakes/tailscale/fake-tailscale';
import { FakeClock } from '../../../support/fake-clock';
import { InMemorySecretStore } from '../../../support/in-memory-secret-store';
import { testConfig } from '../../../support/test-config';

/** A policy file as a person keeps it: comments everywhere, trailing commas, tabs, odd spacing. */
const POLICY = `// Example Corp tailnet policy. Reviewed by #netops; do not reformat.
{
\t// Groups first.
\t"groups": {
\t\t"group:ops": ["ada@example.com", "grace@example.com",], // on call
\t},

\t/* Tag owners: who may apply which tag. */
\t"tagOwners": {
\t\t"tag:db":   ["group:ops"], // aligned on purpose
\t},

\t"acls": [
\t\t// ops reach everything
\t\t{"action": "accept", "src": ["group:ops"], "dst": ["*:*"]},
\t],
}
`;

/**
 * The acl_tag_owner step with the real Tailscale client against the emulator: the tag owner is
 * added by an edit of the owner's HuJSON, not by replacing the file with JSON.
 */
describe('acl_tag_owner and the policy file', () => {
  let ts: FakeTailscale;
  let step: AclTagOwnerStep;
  let client: TailscaleClient;
  const TAILNET = 'example.com';
  const connection = { id: 'c1', vaultPath: 'connections/c1' } as ConnectionEntity;
  let token: string;
  const ctx = (): SetupContext => ({
    connection,
    run: { id: 'r', inputs: null, result: null, attempts: 0 },
    accessToken: async () => token,
    state: () => undefined,
    stateOf: () => undefined,
    saveState: async () => undefined,
    assertConnected: async () => undefined,
    progress: async () => undefined,
    mergeMetadata: async () => undefined,
  });

  beforeEach(async () => {
    ts = await startFakeTailscale();
    ts.addClient({ clientId: 'kP', secret: 's', scopes: ['policy_file'], tailnet: TAILNET });
    const config = testConfig({ tailscale: { tag: 'tag:broker', apiUrl: ts.url, enabled: true } });
    client = new TailscaleClient(config);
    token = (await client.mintToken('kP', 's')).accessToken;
    const store = new InMemorySecretStore();
    await store.write('connections/c1', { tailnet: TAILNET });
    step = new AclTagOwnerStep(client, new FakeClock({ autoAdvance: true }), store, config);
  });
  afterEach(() => ts.close());

  it('adds the owner and keeps every comment, blank line, trailing comma and indent', async () => {
    ts.acl.set(TAILNET, POLICY);
    expect((await step.run(ctx())).status).toBe('succeeded');
    const saved = ts.acl.get(TAILNET) ?? '';
    // Everything the owner wrote is still there, byte for byte, line for line.
    const added = saved.split('\n').filter((line) => !POLICY.split('\n').includes(line));
    expect(POLICY.split('\n').filter((line) => !saved.split('\n').includes(line))).toEqual([]);
    expect(added.join('\n')).toMatch(/^\t\t"tag:broker": \[\n\t\t\t"autogroup:admin"\n\t\t\],$/);
    expect(saved.startsWith('// Example Corp tailnet policy.')).toBe(true);
    // Written as HuJSON, with If-Match of the version read.
    const [get, post] = ts.aclCalls;
    expect(post).toMatchObject({ method: 'POST', status: 200, ifMatch: get.etag });
    const write = ts.seen.find((s) => s.startsWith('POST /api/v2/tailnet/'));
    expect(write).toContain('"content-type":"application/hujson"');
  });

  it('adds tagOwners to a file that has none, and changes nothing once the tag is owned', async () => {
    ts.acl.set(TAILNET, '{\n  // nothing yet\n  "acls": [],\n}\n');
    await step.run(ctx());
    const saved = ts.acl.get(TAILNET) ?? '';
    expect(saved).toContain('  // nothing yet\n  "acls": [],\n}\n');
    expect(saved).toContain('"tagOwners": {');

    const posts = () => ts.aclCalls.filter((c) => c.method === 'POST').length;
    expect(posts()).toBe(1);
    const outcome = await step.run(ctx());
    expect(outcome.detail).toContain('autogroup:admin');
    expect(posts()).toBe(1);
    expect(ts.acl.get(TAILNET)).toBe(saved);
  });

  it('fails on a policy file it cannot read, and leaves it as it was', async () => {
    const broken = '{\n  // half written\n  "acls": [\n';
    ts.acl.set(TAILNET, broken);
    await expect(step.run(ctx())).rejects.toMatchObject({ code: 'tailscale_acl_unreadable' });
    expect(ts.aclCalls.filter((c) => c.method === 'POST')).toEqual([]);
    expect(ts.acl.get(TAILNET)).toBe(broken);
  });

  it('never sends a write without If-Match; the emulator refuses one', async () => {
    await expect(
      client.setAcl(token, TAILNET, { hujson: '{"tagOwners": {}}', etag: '' }),
    ).rejects.toBeInstanceOf(TailscaleApiError);
    expect(ts.aclCalls).toEqual([]);
    const blind = await fetch(`${ts.url}/api/v2/tailnet/${TAILNET}/acl`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/hujson' },
      body: '{}',
    });
    expect(blind.status).toBe(428);
    expect(ts.acl.has(TAILNET)).toBe(false);
  });
});
