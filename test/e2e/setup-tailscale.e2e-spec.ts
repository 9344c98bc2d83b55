import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { waitForSetup } from '../support/setup-runs';
import { parse } from 'jsonc-parser';
import {
  DEFAULT_POLICY,
  type FakeKey,
  type FakeTailscale,
  startFakeTailscale,
} from '../fakes/tailscale/fake-tailscale';
import { BrokerHarness, NO_LEAKS, leaksIn } from '../support/broker';

interface Connection {
  id: string;
  status: string;
  setup_status: string;
  metadata: Record<string, unknown>;
}

const secret = () => `tskey-client-k${randomBytes(5).toString('hex')}CNTRL-${randomBytes(16).toString('hex')}`; // prettier-ignore
/** Not the default tag: proves setup uses TAILSCALE_TAG. */
const TAG = 'tag:cbk-e2e';
const SCOPES = ['devices:core:read', 'policy_file', 'auth_keys'];
const FULL = { clientId: 'kSetup1CNTRL', secret: secret(), tailnet: 'example.com' };
const OWNED = { clientId: 'kOwned1CNTRL', secret: secret(), tailnet: 'owned.example' };
/** A HuJSON policy that already gives TAG an owner. */
const OWNED_ACL = `{\n  // ours, hands off\n  "acls": [{"action": "accept", "src": ["group:ops"], "dst": ["*:22"]}],\n  "tagOwners": {"${TAG}": ["group:ops"]}\n}`; // prettier-ignore
const DAY_MS = 86_400_000;
const STEPS = ['acl_tag_owner', 'auth_key', 'ssh_key'];

/** Reads SSH wire fields (uint32, length-prefixed string) from a buffer. */
function wireReader(buf: Buffer) {
  let at = 0;
  const u32 = () => {
    const v = buf.readUInt32BE(at);
    at += 4;
    return v;
  };
  const str = () => {
    const n = u32();
    const v = buf.subarray(at, at + n);
    if (v.length !== n) throw new Error('truncated SSH wire string');
    at += n;
    return v;
  };
  return { u32, str, skip: (n: number) => (at += n), rest: () => buf.subarray(at) };
}

/** openssh-key-v1 (OpenSSH's PROTOCOL.key), unencrypted, one Ed25519 key: the fields a reader needs. */
function parseOpenSshEd25519(pem: string) {
  const m = /^-----BEGIN OPENSSH PRIVATE KEY-----\n([A-Za-z0-9+/=\n]+)\n-----END OPENSSH PRIVATE KEY-----\n?$/.exec(pem); // prettier-ignore
  if (!m) throw new Error('not an OpenSSH private key');
  const bodyLines = m[1].split('\n');
  const buf = Buffer.from(bodyLines.join(''), 'base64');
  const magic = Buffer.from('openssh-key-v1\0', 'latin1');
  if (!buf.subarray(0, magic.length).equals(magic)) throw new Error('bad openssh magic');
  const outer = wireReader(buf);
  outer.skip(magic.length);
  const header = {
    cipher: outer.str().toString(),
    kdf: outer.str().toString(),
    kdfOptions: outer.str().length,
    keys: outer.u32(),
  };
  const publicBlob = outer.str();
  const priv = outer.str();
  if (outer.rest().length !== 0) throw new Error('trailing bytes after the private section');
  const inner = wireReader(priv);
  const check = [inner.u32(), inner.u32()];
  const type = inner.str().toString();
  const pub = inner.str();
  const secretPart = inner.str();
  const comment = inner.str().toString();
  const padding = [...inner.rest()];
  return { header, publicBlob, check, type, pub, secretPart, comment, padding, bodyLines, blockAligned: priv.length % 8 === 0 }; // prettier-ignore
}

/** The Ed25519 public key (32 bytes) of a 32-byte seed, by Node's crypto: independent of the broker. */
function publicOfSeed(seed: Buffer): Buffer {
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  const key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  return Buffer.from(createPublicKey(key).export({ format: 'jwk' }).x ?? '', 'base64url');
}

/**
 * Tailscale post-connect setup end to end: POST /tailscale/connect against the Tailscale API
 * emulator enqueues `tailscale.setup`, a built worker runs its three steps (ACL tag owner, auth
 * key, SSH key pair), and the api reports progress and the connection's metadata.
 */
describe('Tailscale setup (e2e)', () => {
  let ts: FakeTailscale;
  let broker: BrokerHarness;
  let alice: string;
  const responses: string[] = [];
  /** Every auth key the emulator issued, kept after a delete removes it from `ts.keys`. */
  const issuedKeys: FakeKey[] = [];
  /** Every SSH private key seen in the fake Vault. */
  const sshPrivateKeys: string[] = [];

  async function request(path: string, init: { method?: string; body?: unknown } = {}) {
    const res = await broker.request(path, { ...init, token: alice });
    responses.push(res.text);
    return res;
  }
  async function connect(client: typeof FULL): Promise<Connection> {
    const res = await request('/tailscale/connect', {
      method: 'POST',
      body: { client_id: client.clientId, client_secret: client.secret },
    });
    expect(res.status).toBe(201);
    return res.body as Connection;
  }
  async function settled(id: string, until?: Parameters<typeof waitForSetup>[3]) {
    const view = await waitForSetup(broker, alice, id, until);
    responses.push(JSON.stringify(view));
    return view;
  }
  const keysOf = (tailnet: string) => [...ts.keys.values()].filter((k) => k.tailnet === tailnet);
  const aclCallsOf = (tailnet: string, method: 'GET' | 'POST') =>
    ts.aclCalls.filter((c) => c.tailnet === tailnet && c.method === method);
  /** The versions of the setup secret in the fake Vault, oldest first. */
  function setupVersions(id: string) {
    const found = broker.vault.values().filter((v) => v.path.endsWith(`connections/${id}/setup`));
    for (const v of found)
      if (typeof v.data.ssh_private_key === 'string') sshPrivateKeys.push(v.data.ssh_private_key);
    return found.sort((x, y) => x.version - y.version);
  }
  const setupSecret = (id: string) => setupVersions(id).at(-1)?.data;
  function rememberKeys(): void {
    for (const k of ts.keys.values()) if (!issuedKeys.includes(k)) issuedKeys.push(k);
  }

  /** No secret the test knows of in Postgres, Redis, the processes' output or an API response. */
  async function expectNoLeak(): Promise<void> {
    rememberKeys();
    const keyForms = issuedKeys.flatMap((k) => [k.key, k.key.split('-').at(-1) ?? k.key]);
    const sshForms = sshPrivateKeys.flatMap((pem) => {
      const parsed = parseOpenSshEd25519(pem);
      const seed = parsed.secretPart.subarray(0, 32);
      return [
        pem,
        JSON.stringify(pem).slice(1, -1),
        ...parsed.bodyLines,
        seed.toString('base64'),
        seed.toString('base64url'),
        seed.toString('hex'),
      ];
    });
    const secrets = [FULL.secret, OWNED.secret, ...ts.issuedTokens, ...keyForms, ...sshForms];
    expect(keyForms.length).toBeGreaterThan(0);
    expect(sshForms.length).toBeGreaterThan(0);
    const places = await broker.placesOutsideVault(responses);
    expect(leaksIn(places, secrets)).toEqual(NO_LEAKS);
    expect(places.redis).toContain('tailscale.setup'); // the search does see the jobs
    expect(places.postgres).toContain('ssh-ed25519 '); // and the connection's metadata
  }

  beforeAll(async () => {
    ts = await startFakeTailscale();
    ts.addClient({ ...FULL, scopes: SCOPES });
    ts.addClient({ ...OWNED, scopes: SCOPES });
    ts.setDevices(FULL.tailnet, [{ name: 'web.tail1234.ts.net', user: 'alice@example.com' }]);
    ts.setDevices(OWNED.tailnet, [{ name: 'db.tail5678.ts.net', user: 'bob@owned.example' }]);
    broker = await BrokerHarness.start({
      env: {
        TAILSCALE_API_URL: ts.url,
        TAILSCALE_TAG: TAG,
        RATE_LIMIT_LOGIN_PER_MINUTE: '1000',
        SETUP_JOB_BACKOFF_MS: '100',
      },
    });
    await broker.startWorker();
    alice = await broker.userToken('alice');
  });
  afterAll(async () => {
    await broker?.close();
    await ts?.close();
  });

  let id: string;
  let keyId: string;
  let authKey: string;
  let publicKey: string;

  it('connect → the worker runs all three steps to succeeded against the emulator', async () => {
    const connection = await connect(FULL);
    id = connection.id;
    expect(connection.setup_status).toBe('pending');
    const view = await settled(id);
    expect(view.status).toBe('succeeded');
    expect(view.progress).toBe(100);
    expect(view.steps.map((s) => [s.name, s.status])).toEqual(STEPS.map((s) => [s, 'succeeded']));

    // ACL: read once, written once with If-Match of the ETag read, the tag now owned, rules kept.
    const gets = aclCallsOf(FULL.tailnet, 'GET');
    const posts = aclCallsOf(FULL.tailnet, 'POST');
    expect(gets).toHaveLength(1);
    expect(posts).toHaveLength(1);
    expect(posts[0]).toMatchObject({ status: 200, ifMatch: gets[0].etag, etag: gets[0].etag });
    expect(ts.aclCalls.indexOf(gets[0])).toBeLessThan(ts.aclCalls.indexOf(posts[0]));
    const saved = ts.acl.get(FULL.tailnet) ?? '';
    expect(parse(saved, [], { allowTrailingComma: true })).toEqual({
      acls: [{ action: 'accept', src: ['*'], dst: ['*:*'] }],
      tagOwners: { [TAG]: ['autogroup:admin'] },
    });
    // The file was edited, not replaced: every line of the default policy (comments, trailing
    // commas, the blank line) is still there.
    const savedLines = saved.split('\n');
    const lost = DEFAULT_POLICY.split('\n').filter((line) => !savedLines.includes(line));
    expect(lost).toEqual(['  "tagOwners": {},']); // the one line the owner went into
    expect(saved).toContain('// who may apply which tag');

    // One auth key: reusable, preauthorized, tagged with TAILSCALE_TAG, about 90 days.
    const keys = keysOf(FULL.tailnet);
    expect(keys).toHaveLength(1);
    const [key] = keys;
    expect(key).toMatchObject({ reusable: true, preauthorized: true, tags: [TAG] });
    expect(Math.abs(Date.parse(key.expires) - (Date.now() + 90 * DAY_MS))).toBeLessThan(5 * 60_000);
    keyId = key.id;
    authKey = key.key;
    rememberKeys();

    // The fake Vault holds the key and an OpenSSH private key beside the token set.
    const stored = setupSecret(id);
    expect(stored).toMatchObject({ auth_key: key.key, auth_key_id: key.id });
    const pem = stored?.ssh_private_key;
    expect(typeof pem).toBe('string');
    const ssh = parseOpenSshEd25519(pem as string);
    expect(ssh.header).toEqual({ cipher: 'none', kdf: 'none', kdfOptions: 0, keys: 1 });
    expect(ssh.type).toBe('ssh-ed25519');
    expect(ssh.check[0]).toBe(ssh.check[1]);
    expect(ssh.secretPart).toHaveLength(64);
    expect(ssh.secretPart.subarray(32).equals(ssh.pub)).toBe(true);
    expect(ssh.padding).toEqual(ssh.padding.map((_, i) => i + 1));
    expect(ssh.blockAligned).toBe(true);
    // The private key really is the one whose public key the metadata shows.
    expect(publicOfSeed(ssh.secretPart.subarray(0, 32)).equals(ssh.pub)).toBe(true);

    const got = await request(`/connections/${id}`);
    expect(got.status).toBe(200);
    const c = got.body as Connection;
    expect(c.setup_status).toBe('succeeded');
    expect(c.metadata.tag).toBe(TAG);
    publicKey = String(c.metadata.ssh_public_key);
    expect(publicKey).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]+=* \S+$/);
    const blob = Buffer.from(publicKey.split(' ')[1], 'base64');
    expect(blob.equals(ssh.publicBlob)).toBe(true);
    expect(blob.subarray(-32).equals(ssh.pub)).toBe(true);
    expect(JSON.stringify(c.metadata)).not.toMatch(/PRIVATE|tskey-auth/);

    await expectNoLeak();
  });

  it('a retry after success creates no key and writes no ACL (idempotent)', async () => {
    const aclCalls = ts.aclCalls.length;
    const keys = ts.keys.size;
    const versions = setupVersions(id).length;
    const retry = await request(`/connections/${id}/setup/retry`, { method: 'POST' });
    expect(retry.status).toBe(202);
    const view = await settled(id, (v) => v.status === 'succeeded' && v.attempts === 1);
    expect(view.steps.map((s) => [s.name, s.status])).toEqual(STEPS.map((s) => [s, 'succeeded']));
    expect(aclCallsOf(FULL.tailnet, 'POST')).toHaveLength(1);
    expect(ts.aclCalls.length).toBe(aclCalls);
    expect(ts.keys.size).toBe(keys);
    expect(keysOf(FULL.tailnet).map((k) => k.id)).toEqual([keyId]);
    expect(setupSecret(id)).toMatchObject({ auth_key: authKey, auth_key_id: keyId });
    expect(setupVersions(id)).toHaveLength(versions); // the setup secret was not rewritten
    const c = (await request(`/connections/${id}`)).body as Connection;
    expect(c.metadata.ssh_public_key).toBe(publicKey);
  });

  it('leaves alone an ACL that already gives the tag an owner', async () => {
    ts.acl.set(OWNED.tailnet, OWNED_ACL);
    const connection = await connect(OWNED);
    const view = await settled(connection.id);
    expect(view.status).toBe('succeeded');
    expect(view.steps.find((s) => s.name === 'acl_tag_owner')?.detail).toContain('group:ops');
    expect(aclCallsOf(OWNED.tailnet, 'GET').length).toBeGreaterThan(0);
    expect(aclCallsOf(OWNED.tailnet, 'POST')).toEqual([]);
    expect(ts.acl.get(OWNED.tailnet)).toBe(OWNED_ACL);
    // The existing owner is enough for the emulator to issue the tagged key.
    const keys = keysOf(OWNED.tailnet);
    expect(keys.map((k) => k.tags)).toEqual([[TAG]]);
    expect(setupSecret(connection.id)).toMatchObject({ auth_key_id: keys[0].id });
    const c = (await request(`/connections/${connection.id}`)).body as Connection;
    expect(c.metadata).toMatchObject({ tag: TAG });
    expect(c.metadata.ssh_public_key).not.toBe(publicKey);
    rememberKeys();
  });

  it('DELETE deletes the auth key at Tailscale and destroys every connections/<id> secret', async () => {
    const before = broker.vault.values().filter((v) => v.path.includes(`connections/${id}`));
    expect(before.map((v) => v.path.slice(v.path.indexOf('connections/')))).toEqual(
      expect.arrayContaining([`connections/${id}`, `connections/${id}/setup`]),
    );
    const del = await request(`/connections/${id}`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    expect(ts.deletedKeys).toEqual([keyId]);
    expect(ts.keys.has(keyId)).toBe(false);
    expect(broker.vault.values().filter((v) => v.path.includes(`connections/${id}`))).toEqual([]);
    expect(keysOf(OWNED.tailnet)).toHaveLength(1); // the other connection's key stays
    const after = (await request(`/connections/${id}`)).body as Connection;
    expect(after.status).toBe('revoked');
  });

  it('kept every client secret, token, auth key and SSH private key out of Postgres, Redis, logs and responses', async () => {
    expect(issuedKeys).toHaveLength(2);
    expect(new Set(sshPrivateKeys).size).toBe(2);
    await expectNoLeak();
  });
});
