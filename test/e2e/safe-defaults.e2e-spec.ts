import { request as httpRequest } from 'node:http';
import { BrokerHarness } from '../support/broker';

/** A raw GET, for what fetch refuses to send (huge headers) or normalises. */
function rawGet(
  url: string,
  headers: Record<string, string> = {},
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'GET', headers, maxHeaderSize: 64 * 1024 }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Safe defaults (the hardening issue): headers, 414/431, validation messages, metrics token. */
describe('safe defaults (e2e)', () => {
  let broker: BrokerHarness;
  let token: string;
  let adminKey: string;

  beforeAll(async () => {
    broker = await BrokerHarness.start({ env: { METRICS_TOKEN: 'metrics-token-0123456789' } });
    token = await broker.userToken('user-safe');
    adminKey = await broker.apiKey(['admin']);
  });
  afterAll(() => broker.close());

  it('sends nosniff and no-store on every response, errors and 404s included', async () => {
    const responses = [
      await broker.request('/health/live'),
      await broker.request('/connections', { token }),
      await broker.request('/connections'),
      await broker.request('/no/such/route', { token }),
      await broker.request('/connections?limit=0', { token }),
      await broker.request('/connections', { method: 'POST', token, body: '{"bad json' }),
      await broker.request('/metrics'),
    ];
    for (const res of responses) {
      expect([res.status, res.headers.get('x-content-type-options')]).toEqual([
        res.status,
        'nosniff',
      ]);
      expect([res.status, res.headers.get('cache-control')]).toEqual([res.status, 'no-store']);
      expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    }
  });

  it('gives Bull Board and the Swagger UI a CSP with frame-ancestors none that still lets them load', async () => {
    const board = await broker.request('/admin/queues', { token: adminKey });
    expect(board.status).toBe(200);
    expect(board.headers.get('content-type')).toContain('text/html');
    const boardCsp = board.headers.get('content-security-policy') ?? '';
    expect(boardCsp).toContain("frame-ancestors 'none'");
    expect(boardCsp).toContain("script-src 'self'");
    expect(board.headers.get('x-content-type-options')).toBe('nosniff');

    const docs = await broker.request('/docs');
    expect(docs.status).toBe(200);
    const csp = docs.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("script-src 'self' 'unsafe-inline'");
    // Every script is a same-origin file (allowed by script-src 'self'), none inline.
    const scripts = [...docs.text.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes = '', body = ''] of scripts) {
      expect(body.trim()).toBe('');
      const src = /src=['"]([^'"]+)['"]/.exec(attributes)?.[1] ?? '';
      expect(src).not.toMatch(/^(https?:)?\/\//);
      const asset = await broker.request(new URL(src, `${broker.url}/docs`).pathname);
      expect([src, asset.status]).toEqual([src, 200]);
    }
    const init = await broker.request('/docs/swagger-ui-init.js');
    expect(init.text).toContain('SwaggerUIBundle');
  });

  it('sends HSTS only when PUBLIC_URL is https', async () => {
    expect(
      (await broker.request('/health/live')).headers.get('strict-transport-security'),
    ).toBeNull();
    const https = await broker.startApi({ PUBLIC_URL: 'https://broker.example.com' });
    const res = await broker.request('/health/live', { base: https.url });
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
  });

  it('answers 414 and 431 as problem+json with a code', async () => {
    const longParam = await broker.request(`/connections/${'a'.repeat(300)}`, { token });
    expect(longParam.status).toBe(414);
    expect(longParam.headers.get('content-type')).toContain('application/problem+json');
    expect(longParam.body).toMatchObject({ status: 414, code: 'uri_too_long' });
    expect(longParam.headers.get('x-content-type-options')).toBe('nosniff');

    const longUrl = await broker.request(`/connections?cursor=${'c'.repeat(9000)}`, { token });
    expect(longUrl.status).toBe(414);
    expect(longUrl.body).toMatchObject({ code: 'uri_too_long' });

    const bigHeaders = await rawGet(`${broker.url}/health/live`, { 'x-pad': 'h'.repeat(20_000) });
    expect(bigHeaders.status).toBe(431);
    expect(bigHeaders.headers['content-type']).toContain('application/problem+json');
    expect(bigHeaders.headers['x-content-type-options']).toBe('nosniff');
    expect(JSON.parse(bigHeaders.text)).toMatchObject({ status: 431, code: 'headers_too_large' });
  });

  it('never echoes a caller value in a validation message', async () => {
    const probe = (field: string) => `Zq9${field.replace(/_/g, '')}Probe`;
    const cases: {
      path: string;
      method: string;
      body?: Record<string, unknown>;
      query?: string;
    }[] = [
      {
        path: '/connections',
        method: 'GET',
        query: ['provider', 'status', 'cursor', 'limit'].map((f) => `${f}=${probe(f)}`).join('&'),
      },
      {
        path: '/azure/login',
        method: 'POST',
        body: {
          tenant_id: probe('tenant_id'),
          client_id: probe('client_id'),
          client_secret: 7,
          subscription_id: probe('subscription_id'),
          [probe('unknown_key')]: probe('unknown_value'),
        },
      },
      {
        path: '/tailscale/connect',
        method: 'POST',
        body: {
          client_id: `${probe('client_id')}!`,
          client_secret: '',
          tailnet: `${probe('tailnet')}/`,
          [probe('extra')]: 1,
        },
      },
      {
        path: '/ovh/login',
        method: 'POST',
        body: { region: probe('region'), redirect_to: probe('redirect_to') },
      },
      {
        path: '/tailscale/refresh-token',
        method: 'POST',
        body: { connection_id: probe('connection_id') },
      },
    ];
    for (const c of cases) {
      const res = await broker.request(c.query ? `${c.path}?${c.query}` : c.path, {
        method: c.method,
        token,
        body: c.body,
      });
      expect([c.path, res.status]).toEqual([c.path, 400]);
      expect((res.body as { errors?: unknown[] }).errors?.length).toBeGreaterThan(0);
      expect([c.path, res.text.match(/Zq9\w*Probe/g)]).toEqual([c.path, null]);
    }
  });

  it('guards the worker /metrics with METRICS_TOKEN too', async () => {
    const worker = await broker.startWorker();
    const open = await broker.request('/metrics', { base: worker.url });
    expect(open.status).toBe(401);
    expect(open.headers.get('www-authenticate')).toContain('Bearer');
    expect(open.body).toMatchObject({ code: 'unauthenticated' });
    expect(open.text).not.toContain('process_cpu_seconds_total');
    const wrong = await broker.request('/metrics', { base: worker.url, token: 'x'.repeat(24) });
    expect(wrong.status).toBe(401);
    const ok = await broker.request('/metrics', {
      base: worker.url,
      token: 'metrics-token-0123456789',
    });
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('process_cpu_seconds_total');
    expect((await broker.request('/health/live', { base: worker.url })).status).toBe(200);
  });
});
