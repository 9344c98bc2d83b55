import { type FakeGoogle, startFakeGoogle } from '../fakes/google/fake-google';
import { BrokerHarness, FRONTEND_URL } from '../support/broker';

/**
 * POST /gcp/login on its own: the body (optional, strict), redirect_to confined to the frontend's
 * origin, GCP_EXTRA_SCOPES and STATE_TTL_SECONDS in the answer, and the per-caller rate limit.
 */
describe('GCP login (e2e)', () => {
  let google: FakeGoogle;
  let broker: BrokerHarness;
  let n = 0;
  const EXTRA = 'https://www.googleapis.com/auth/userinfo.profile';

  beforeAll(async () => {
    google = await startFakeGoogle();
    broker = await BrokerHarness.start({
      env: {
        ...google.env(),
        RATE_LIMIT_LOGIN_PER_MINUTE: '3',
        GCP_EXTRA_SCOPES: EXTRA,
        STATE_TTL_SECONDS: '30',
      },
    });
  });
  afterAll(async () => {
    await broker.close();
    await google.close();
  });

  /** A user of their own for each use: the rate limit counts per caller. */
  const freshUser = () => broker.userToken(`login-user-${++n}`);
  const login = async (body?: unknown, token?: string) =>
    broker.request('/gcp/login', { method: 'POST', token: token ?? (await freshUser()), body });

  it('needs no body, asks for the extra scopes, and gives the state STATE_TTL_SECONDS to live', async () => {
    const res = await login();
    expect(res.status).toBe(200);
    const body = res.body as { login_url: string; state_expires_at: string };
    const scopes = new URL(body.login_url).searchParams.get('scope')?.split(' ');
    expect(scopes).toEqual([
      'openid',
      'email',
      'https://www.googleapis.com/auth/cloud-platform',
      EXTRA,
    ]);
    const ttl = Date.parse(body.state_expires_at) - Date.now();
    expect(ttl).toBeGreaterThan(25_000);
    expect(ttl).toBeLessThanOrEqual(30_000);
  });

  it.each([
    'https://evil.example/steal',
    '//evil.example/steal',
    '/\\evil.example/steal',
    'javascript:alert(1)',
    'http://frontend.test.example.evil.example/',
    'https://frontend.test.example/', // another scheme is another origin
  ])('refuses redirect_to %s with 400 validation_failed', async (redirectTo) => {
    const res = await login({ redirect_to: redirectTo });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      code: 'validation_failed',
      errors: [{ path: 'redirect_to' }],
    });
  });

  it('accepts redirect_to on the frontend origin, absolute or as a path', async () => {
    expect((await login({ redirect_to: `${FRONTEND_URL}/x?y=1` })).status).toBe(200);
    expect((await login({ redirect_to: '/settings/clouds' })).status).toBe(200);
  });

  it.each([
    ['an unknown field', { redirect: 'x' }],
    ['a wrong type', { redirect_to: 5 }],
    ['an empty redirect_to', { redirect_to: '' }],
    ['an array', '[]'],
    ['malformed JSON', '{"redirect_to":'],
  ])('refuses %s in the body with 400 validation_failed', async (_, body) => {
    const res = await login(body);
    expect(res.status).toBe(400);
    expect((res.body as { code: string }).code).toBe('validation_failed');
  });

  it('rate-limits per caller (RATE_LIMIT_LOGIN_PER_MINUTE) with 429 rate_limited', async () => {
    const eve = await freshUser();
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await login({}, eve)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await login({}, eve);
    expect((limited.body as { code: string }).code).toBe('rate_limited');
    expect((await login({})).status).toBe(200); // someone else is not affected
  });
});
