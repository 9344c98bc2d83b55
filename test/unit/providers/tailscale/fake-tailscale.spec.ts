import { type FakeTailscale, startFakeTailscale } from '../../../fakes/tailscale/fake-tailscale';

/** The emulator's wire behaviour that setup (a later issue) relies on: Basic auth, ETag, tags. */
describe('fake Tailscale API', () => {
  let ts: FakeTailscale;
  let token: string;
  const call = (path: string, init: RequestInit = {}) =>
    fetch(`${ts.url}/api/v2${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, ...init.headers },
    });

  beforeAll(async () => {
    ts = await startFakeTailscale();
    ts.addClient({ clientId: 'kC', secret: 's3cret', scopes: ['policy_file', 'auth_keys'], tailnet: 't.example' }); // prettier-ignore
    const res = await fetch(`${ts.url}/api/v2/oauth/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from('kC:s3cret').toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    });
    expect(res.status).toBe(200);
    token = ((await res.json()) as { access_token: string }).access_token;
    expect(ts.tokenAuthStyles).toEqual(['basic']);
  });
  afterAll(() => ts.close());

  it('refuses an untagged key or a tag without an owner, then accepts it once owned', async () => {
    const create = (tags: string[]) =>
      call('/tailnet/-/keys', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ capabilities: { devices: { create: { reusable: true, preauthorized: true, tags } } }, expirySeconds: 7776000 }), // prettier-ignore
      });
    expect((await create([])).status).toBe(400);
    const unowned = await create(['tag:broker']);
    expect(unowned.status).toBe(400);
    expect(((await unowned.json()) as { message: string }).message).toContain('tag:broker');

    const acl = await call('/tailnet/-/acl');
    const etag = acl.headers.get('etag') ?? '';
    const policy = { acls: [], tagOwners: { 'tag:broker': ['autogroup:admin'] } };
    const stale = await call('/tailnet/-/acl', {
      method: 'POST',
      headers: { 'if-match': '"stale"', 'content-type': 'application/json' },
      body: JSON.stringify(policy),
    });
    expect(stale.status).toBe(412);
    const saved = await call('/tailnet/-/acl', {
      method: 'POST',
      headers: { 'if-match': etag, 'content-type': 'application/json' },
      body: JSON.stringify(policy),
    });
    expect(saved.status).toBe(200);
    expect(saved.headers.get('etag')).not.toBe(etag);

    const made = await create(['tag:broker']);
    expect(made.status).toBe(200);
    const key = (await made.json()) as { id: string; key: string };
    expect(key.key).toMatch(/^tskey-auth-/);
    const got = await call(`/tailnet/-/keys/${key.id}`);
    expect(await got.json()).not.toHaveProperty('key');
    expect((await call(`/tailnet/-/keys/${key.id}`, { method: 'DELETE' })).status).toBe(200);
    expect((await call(`/tailnet/-/keys/${key.id}`)).status).toBe(404);
  });

  it('answers 403 without the scope and 401 without a valid token', async () => {
    expect((await call('/tailnet/-/devices')).status).toBe(403);
    token = 'tskey-api-nope';
    const res = await call('/tailnet/-/devices');
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ message: 'API token invalid' });
  });
});
