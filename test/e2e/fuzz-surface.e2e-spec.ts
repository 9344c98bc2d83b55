import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { BrokerHarness, JWT_SECRET } from '../support/broker';

interface Operation {
  method: string;
  path: string;
  parameters: { name: string; in: 'path' | 'query' | 'header' }[];
  hasBody: boolean;
}

/** Every operation of the committed contract (checked against the code by npm run test:openapi). */
function operations(): Operation[] {
  const doc = JSON.parse(readFileSync(join(__dirname, '../../openapi.json'), 'utf8')) as {
    paths: Record<
      string,
      Record<string, { parameters?: Operation['parameters']; requestBody?: unknown }>
    >;
  };
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      parameters: op.parameters ?? [],
      hasBody: op.requestBody !== undefined,
    })),
  );
}

/** Odd strings: traversal, NUL, control and non-ASCII characters, huge ones, JSON-ish ones. */
const oddString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom(
    '../../../etc/passwd',
    '..%2f..%2f',
    '%00',
    '\u0000',
    '\r\nX-Injected: 1',
    '${jndi:ldap://x}',
    "' OR 1=1 --",
    '<script>alert(1)</script>',
    'null',
    '[]',
    '{}',
    '-1',
    '1e309',
    '😀'.repeat(50),
    'a'.repeat(5000),
  ),
);

const oddJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 6 }),
  fc.record({
    redirect_to: oddString,
    region: oddString,
    tenant_id: oddString,
    client_id: oddString,
    client_secret: oddString,
    subscription_id: oddString,
    tailnet: oddString,
    connection_id: oddString,
    project_ids: fc.array(oddString, { maxLength: 3 }),
    claim: oddString,
    role_arn: oddString,
    unexpected_field: fc.jsonValue({ maxDepth: 1 }),
  }),
);

const requestCase = fc.record({
  pathValue: oddString,
  query: fc.dictionary(
    fc.constantFrom('provider', 'status', 'cursor', 'limit', 'x', 'state', 'code', 'error'),
    oddString,
    { maxKeys: 4 },
  ),
  body: fc.option(oddJson, { nil: undefined }),
  rawBody: fc.option(fc.constantFrom('{', '{"a":', 'not json', '\u0000', '[1,2'), {
    nil: undefined,
  }),
  contentType: fc.constantFrom(
    'application/json',
    'text/plain',
    'application/x-www-form-urlencoded',
    undefined,
  ),
  auth: fc.constantFrom('user', 'key', 'none', 'garbage'),
  requestId: fc.option(oddString, { nil: undefined }),
  onBehalfOf: fc.option(oddString, { nil: undefined }),
});

/**
 * A property-based sweep of the whole surface (SPEC §4 and §8): malformed requests for every
 * operation in openapi.json never answer 5xx, always answer errors as problem+json, never echo a
 * secret, and leave the service ready. Fixed seed, bounded count: the same cases on every run.
 */
describe('fuzzing every operation of openapi.json (e2e)', () => {
  let broker: BrokerHarness;
  let user: string;
  let key: string;

  beforeAll(async () => {
    broker = await BrokerHarness.start();
    user = await broker.userToken('fuzzer');
    key = await broker.apiKey(['admin']);
  });
  afterAll(() => broker.close());

  it('answers malformed requests without a 5xx, as problem+json, with no secret in any body', async () => {
    const ops = operations();
    expect(ops.length).toBeGreaterThan(10);
    const cases = fc.sample(requestCase, { seed: 20261201, numRuns: 30 * ops.length });
    const failures: string[] = [];
    const secrets = [JWT_SECRET, broker.vault.rootToken, key];
    for (const [i, c] of cases.entries()) {
      const op = ops[i % ops.length];
      const path = op.path.replace(/\{[^}]+\}/g, () => encodeURIComponent(c.pathValue));
      const query = new URLSearchParams(
        Object.entries(c.query).filter(
          ([k]) => op.parameters.some((p) => p.name === k) || k === 'x',
        ),
      ).toString();
      // fetch refuses control characters in headers: keep what a client can send.
      const safeHeader = (v: string) => v.replace(/[^\x20-\x7e]/g, '').slice(0, 300);
      const headers: Record<string, string> = {};
      if (c.auth === 'user') headers.authorization = `Bearer ${user}`;
      if (c.auth === 'key') headers.authorization = `Bearer ${key}`;
      if (c.auth === 'garbage') headers.authorization = `Bearer ${safeHeader(c.pathValue)}`;
      if (c.contentType) headers['content-type'] = c.contentType;
      if (c.requestId !== undefined) headers['x-request-id'] = safeHeader(c.requestId);
      if (c.onBehalfOf !== undefined) headers['x-on-behalf-of'] = safeHeader(c.onBehalfOf);
      const body =
        op.method === 'GET' || op.method === 'DELETE'
          ? undefined
          : (c.rawBody ?? (c.body === undefined ? undefined : JSON.stringify(c.body)));
      const res = await fetch(`${broker.url}${path}${query ? `?${query}` : ''}`, {
        method: op.method,
        headers,
        body,
        redirect: 'manual',
      });
      const text = await res.text();
      const where = `${op.method} ${path.slice(0, 80)} → ${res.status}`;
      if (res.status >= 500) failures.push(`${where}: ${text.slice(0, 200)}`);
      if (res.status >= 400) {
        const type = res.headers.get('content-type') ?? '';
        if (!type.startsWith('application/problem+json')) failures.push(`${where}: ${type}`);
        else {
          const problem = JSON.parse(text) as { code?: string; request_id?: string };
          if (!problem.code || !problem.request_id)
            failures.push(`${where}: ${text.slice(0, 200)}`);
        }
      }
      for (const secret of secrets) if (text.includes(secret)) failures.push(`${where}: a secret`);
    }
    expect(failures).toEqual([]);
    expect((await broker.request('/health/ready')).status).toBe(200);
  });
});
