import { createServer, type IncomingMessage, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { undiciFetch } from '../../../src/common/undici-fetch';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let server: Server;
let base: string;
const seen: Seen[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      if (req.url === '/empty') return void res.writeHead(204).end();
      if (req.url === '/slow') return void setTimeout(() => res.end('late'), 2_000).unref();
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.writeHead(req.url === '/teapot' ? 418 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => (seen.length = 0));

const fetchFast = undiciFetch();

describe('undiciFetch', () => {
  it('sends a URLSearchParams body as a form, with the headers given, and parses the answer', async () => {
    const res = await fetchFast(`${base}/token?x=1`, {
      method: 'post',
      headers: new Headers({ 'x-trace': 't1' }),
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: '1//r t' }),
    });
    expect(res.status).toBe(200);
    expect(res.ok).toBe(true);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    await expect(res.json()).resolves.toEqual({ ok: true });
    expect(seen[0]).toMatchObject({
      method: 'POST',
      url: '/token?x=1',
      body: 'grant_type=refresh_token&refresh_token=1%2F%2Fr+t',
      headers: {
        'content-type': 'application/x-www-form-urlencoded;charset=UTF-8',
        'x-trace': 't1',
      },
    });
  });

  it('keeps a content-type the caller set, and sends strings and bytes as they are', async () => {
    await fetchFast(`${base}/a`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    await fetchFast(`${base}/b`, { method: 'POST', body: new TextEncoder().encode('raw') });
    expect(seen.map((s) => [s.method, s.body, s.headers['content-type']])).toEqual([
      ['PUT', '{"a":1}', 'application/json'],
      ['POST', 'raw', undefined],
    ]);
  });

  it('answers an error status as a Response, and a 204 with no body', async () => {
    const teapot = await fetchFast(`${base}/teapot`);
    expect([teapot.status, teapot.ok]).toEqual([418, false]);
    const empty = await fetchFast(`${base}/empty`, { method: 'DELETE' });
    expect(empty.status).toBe(204);
    expect(empty.body).toBeNull();
  });

  it('rejects with the signal’s reason when it aborts, as fetch does (a timeout is a TimeoutError)', async () => {
    const started = Date.now();
    const err = await fetchFast(`${base}/slow`, { signal: AbortSignal.timeout(100) }).catch(
      (e: unknown) => e,
    );
    expect((err as Error).name).toBe('TimeoutError');
    expect(Date.now() - started).toBeLessThan(1_500);
    const aborted = AbortSignal.abort(new Error('gone'));
    await expect(fetchFast(`${base}/a`, { signal: aborted })).rejects.toThrow('gone');
  });

  it('rejects a refused connection with the socket’s code in its cause chain', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const err = (await fetchFast(`http://127.0.0.1:${port}/`).catch((e: unknown) => e)) as Error & {
      code?: string;
    };
    expect(err.code ?? (err.cause as { code?: string } | undefined)?.code).toBe('ECONNREFUSED');
  });

  it('hands a body it does not cover (a Blob) to the built-in fetch', async () => {
    const res = await fetchFast(`${base}/blob`, { method: 'POST', body: new Blob(['blob!']) });
    expect(res.status).toBe(200);
    expect(seen[0]?.body).toBe('blob!');
  });
});
