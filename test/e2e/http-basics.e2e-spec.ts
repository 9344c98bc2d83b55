import { ERROR_CODES } from '../../src/common/error-codes';
import { BrokerHarness } from '../support/broker';

/** The built api over HTTP: health, request ids, problem+json, OpenAPI, metrics. */
describe('api basics (e2e)', () => {
  let broker: BrokerHarness;
  let token: string;

  beforeAll(async () => {
    broker = await BrokerHarness.start({ env: { BODY_LIMIT_BYTES: '2048' } });
    token = await broker.userToken('user-basics');
  });
  afterAll(() => broker.close());

  it('answers liveness and readiness with every dependency checked', async () => {
    expect((await broker.request('/health/live')).body).toEqual({ status: 'ok' });
    const ready = await broker.request('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({
      status: 'ok',
      checks: {
        postgres: { ok: true },
        redis: { ok: true },
        secret_store: { ok: true, kind: 'vault' },
      },
    });
  });

  it('keeps a safe caller request id and replaces an unsafe one', async () => {
    const kept = await broker.request('/health/live', {
      headers: { 'x-request-id': 'trace-abc.123_X' },
    });
    expect(kept.headers.get('x-request-id')).toBe('trace-abc.123_X');
    const replaced = await broker.request('/connections', {
      headers: { 'x-request-id': 'bad id with spaces' },
    });
    const id = replaced.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect((replaced.body as { request_id: string }).request_id).toBe(id);
  });

  it('answers errors as problem+json with a stable code', async () => {
    const res = await broker.request('/no/such/route', { token });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body).toEqual({
      type: 'https://credential-broker.dev/errors/not_found',
      title: 'Not found',
      status: 404,
      detail: 'No such route',
      code: 'not_found',
      request_id: res.headers.get('x-request-id'),
    });
  });

  it('answers malformed input with 4xx, never 500, and never echoes the body', async () => {
    const badJson = await broker.request('/connections', {
      method: 'POST',
      token,
      body: '{"secret":"hunter2-in-body"',
    });
    expect(badJson.status).toBe(400);
    expect(badJson.text).not.toContain('hunter2');
    const tooLarge = await broker.request('/connections', {
      method: 'POST',
      token,
      body: { pad: 'x'.repeat(4096) },
    });
    expect(tooLarge.status).toBe(413);
    expect((tooLarge.body as { code: string }).code).toBe('payload_too_large');
    for (const query of [
      'limit=0',
      'limit=101',
      'limit=abc',
      'provider=digitalocean',
      'status=dead',
      'cursor=garbage',
      'sort=asc',
    ]) {
      const res = await broker.request(`/connections?${query}`, { token });
      expect([query, res.status, (res.body as { code: string }).code]).toEqual([
        query,
        400,
        'validation_failed',
      ]);
      expect((res.body as { errors: unknown[] }).errors.length).toBeGreaterThan(0);
    }
  });

  it('serves OpenAPI 3 listing every route and every error code', async () => {
    const doc = (await broker.request('/docs-json')).body as {
      openapi: string;
      paths: Record<string, unknown>;
      components: { schemas: { Problem: { properties: { code: { enum: string[] } } } } };
    };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/health/live',
        '/health/ready',
        '/connections',
        '/connections/{id}',
      ]),
    );
    expect(doc.components.schemas.Problem.properties.code.enum.sort()).toEqual(
      Object.keys(ERROR_CODES).sort(),
    );
    const ui = await broker.request('/docs');
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('swagger');
  });

  it('exposes Prometheus metrics with HTTP histograms by route template', async () => {
    await broker.request('/connections/00000000-0000-4000-8000-000000000000', { token });
    const res = await broker.request('/metrics');
    expect(res.status).toBe(200);
    expect(res.text).toContain('process_cpu_seconds_total');
    expect(res.text).toMatch(
      /http_request_duration_seconds_bucket\{[^}]*route="\/connections\/:id"[^}]*status="404"/,
    );
    expect(res.text).not.toContain('00000000-0000-4000-8000-000000000000');
  });
});

describe('metrics behind METRICS_TOKEN (e2e)', () => {
  let broker: BrokerHarness;
  beforeAll(async () => {
    broker = await BrokerHarness.start({
      store: 'local',
      env: { METRICS_TOKEN: 'metrics-token-0123456789' },
    });
  });
  afterAll(() => broker.close());

  it('needs the token when one is configured', async () => {
    expect((await broker.request('/metrics')).status).toBe(401);
    expect((await broker.request('/metrics', { token: 'wrong-token-000000000' })).status).toBe(401);
    const ok = await broker.request('/metrics', { token: 'metrics-token-0123456789' });
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('http_requests_total');
  });

  it('reports the local secret store as ready', async () => {
    const ready = await broker.request('/health/ready');
    expect(ready.body).toMatchObject({
      status: 'ok',
      checks: { secret_store: { ok: true, kind: 'local' } },
    });
  });
});
