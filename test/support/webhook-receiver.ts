import { createServer, type IncomingHttpHeaders } from 'node:http';
import { type AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** One POST the receiver got: verified (or not) with the Standard Webhooks library. */
export interface Receipt<Body> {
  webhookId: string;
  headers: IncomingHttpHeaders;
  raw: string;
  body: Body;
  verified: boolean;
  /** The status the receiver answered: 400 for a bad signature, else what `answer` chose. */
  answered: number;
}

export interface WebhookReceiver<Body> {
  /** Where WEBHOOK_URL points: `http://127.0.0.1:<port>/hooks/in`. */
  readonly url: string;
  /** Every POST, in the order it came. */
  readonly receipts: Receipt<Body>[];
  close(): Promise<void>;
}

/**
 * A webhook receiver on a loopback port that checks every signature the way a customer's would,
 * with the maintained `standardwebhooks` library and the shared `WEBHOOK_SECRET`. A bad signature
 * is answered 400; a good one with what `answer` says (default 204), so a test can make a
 * receiver that fails some deliveries. An answer of 300 or more carries a body the broker must
 * never store or log.
 */
export async function startWebhookReceiver<Body>(
  secret: string,
  answer: (body: Body, webhookId: string) => number = () => 204,
): Promise<WebhookReceiver<Body>> {
  const verifier = new Webhook(secret);
  const receipts: Receipt<Body>[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const webhookId = String(req.headers['webhook-id']);
      let verified: boolean;
      try {
        verifier.verify(raw, {
          'webhook-id': webhookId,
          'webhook-timestamp': String(req.headers['webhook-timestamp']),
          'webhook-signature': String(req.headers['webhook-signature']),
        });
        verified = true;
      } catch {
        verified = false;
      }
      const body = JSON.parse(raw) as Body;
      const answered = verified ? answer(body, webhookId) : 400;
      receipts.push({ webhookId, headers: req.headers, raw, body, verified, answered });
      res.writeHead(answered).end(answered >= 300 ? 'a receiver error body, never stored' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/in`,
    receipts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
