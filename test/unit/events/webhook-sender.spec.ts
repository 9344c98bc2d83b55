import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { type AppConfig } from '../../../src/config/config';
import { WebhookSender } from '../../../src/events/webhook-sender';

const SECRET = `whsec_${Buffer.alloc(32, 3).toString('base64')}`;
const BODY = {
  id: 'msg_1',
  type: 'connection.connected' as const,
  created_at: '2026-01-01T00:00:00.000Z',
  data: { connection: { id: 'c' } },
};

describe('WebhookSender', () => {
  let server: Server;
  let url: string;
  let answer: { status: number; location?: string; delayMs?: number };
  const seen: { headers: IncomingHttpHeaders; raw: string; path: string }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let raw = '';
      req.on('data', (d: Buffer) => (raw += d.toString()));
      req.on('end', () => {
        seen.push({ headers: req.headers, raw, path: req.url ?? '' });
        setTimeout(() => {
          res.writeHead(answer.status, answer.location ? { location: answer.location } : {});
          res.end('receiver text');
        }, answer.delayMs ?? 0);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/in`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => (seen.length = 0));

  const sender = (timeoutMs = 2000) =>
    new WebhookSender({
      webhooks: { enabled: true, url, secret: SECRET, timeoutMs },
    } as unknown as AppConfig);

  it('signs as Standard Webhooks: the receiver library verifies it', async () => {
    answer = { status: 204 };
    await expect(sender().send('msg_1', BODY)).resolves.toEqual({ ok: true, status: 204 });
    const [req] = seen;
    expect(req.headers).toMatchObject({
      'content-type': 'application/json',
      'user-agent': 'credential-broker',
      'webhook-id': 'msg_1',
    });
    expect(
      new Webhook(SECRET).verify(req.raw, {
        'webhook-id': String(req.headers['webhook-id']),
        'webhook-timestamp': String(req.headers['webhook-timestamp']),
        'webhook-signature': String(req.headers['webhook-signature']),
      }),
    ).toEqual(BODY);
  });

  it('a redirect is a failure and is not followed', async () => {
    answer = { status: 302, location: `${url}/elsewhere` };
    await expect(sender().send('msg_1', BODY)).resolves.toEqual({ ok: false, reason: 'http_302' });
    expect(seen.map((s) => s.path)).toEqual(['/in']);
  });

  it('a non-2xx is a failure named by its status only, never the body', async () => {
    answer = { status: 500 };
    await expect(sender().send('msg_1', BODY)).resolves.toEqual({ ok: false, reason: 'http_500' });
  });

  it('a slow receiver is a timeout', async () => {
    answer = { status: 200, delayMs: 1000 };
    await expect(sender(100).send('msg_1', BODY)).resolves.toEqual({
      ok: false,
      reason: 'timeout',
    });
  });
});
