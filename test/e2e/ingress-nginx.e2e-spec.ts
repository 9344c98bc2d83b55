import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import { type AddressInfo } from 'node:net';
import { BrokerHarness } from '../support/broker';
import { type RunningNginx, startNginx } from '../support/nginx';

/**
 * The broker as an ingress's authentication service (SPEC §9, `/auth/me`): a real nginx with
 * `auth_request` in front of a small app. A known caller reaches the app with its identity in
 * `X-Auth-Request-User`; an unknown or badly signed one is sent to the broker's sign-in and
 * never reaches the app.
 */
describe('nginx auth_request in front of an app (e2e)', () => {
  let broker: BrokerHarness;
  let nginx: RunningNginx;
  let app: Server;
  const seen: { url: string; headers: IncomingHttpHeaders }[] = [];

  beforeAll(async () => {
    broker = await BrokerHarness.start();
    // The protected app: echoes what it was sent.
    app = createServer((req, res) => {
      seen.push({ url: req.url ?? '', headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ url: req.url, headers: req.headers }));
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    const appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
    nginx = await startNginx({ upstream: broker.url, app: appUrl, authRequest: true });
  });
  afterAll(async () => {
    await nginx?.stop();
    await new Promise<void>((resolve) => (app ? app.close(() => resolve()) : resolve()));
    await broker?.close();
  });
  beforeEach(() => (seen.length = 0));

  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${nginx.url}${path}`, { headers, redirect: 'manual' });

  it('a bearer JWT reaches the app, which sees X-Auth-Request-User: <the sub>', async () => {
    const jwt = await broker.userToken('alice');
    const res = await get('/app/hello?x=1', { authorization: `Bearer ${jwt}` });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { url: string; headers: IncomingHttpHeaders };
    expect(body.url).toBe('/app/hello?x=1');
    expect(body.headers['x-auth-request-user']).toBe('alice');
    expect(seen).toHaveLength(1);
  });

  it('without credentials nginx sends the browser to the broker sign-in, and the app sees nothing', async () => {
    const res = await get('/app/private');
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(
      `${broker.url}/auth/login?provider=github&redirect_to=${nginx.url}/app/private`,
    );
    expect(seen).toHaveLength(0);
  });

  it('a badly signed or expired token is treated the same: sign-in, not the app', async () => {
    const good = await broker.userToken('alice');
    const forged = `${good.slice(0, good.lastIndexOf('.'))}.${'A'.repeat(43)}`;
    const expired = await broker.userToken('alice', { exp: Math.floor(Date.now() / 1000) - 60 });
    for (const token of [forged, expired, 'not-a-jwt']) {
      const res = await get('/app/private', { authorization: `Bearer ${token}` });
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toMatch(
        new RegExp(`^${broker.url}/auth/login\\?provider=github&redirect_to=`),
      );
    }
    expect(seen).toHaveLength(0);
  });
});
