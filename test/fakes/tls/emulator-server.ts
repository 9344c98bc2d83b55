import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, type Socket } from 'node:net';
import { type TestCa } from './test-ca';

/** The HTTP(S) server the provider emulators (Azure, Tailscale, OVH) share; TLS with the test CA. */

export interface FakeRequest {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  body: string;
  /** The body parsed as a form when it is one, else as JSON when it is JSON, else {}. */
  params: Record<string, string>;
  json: unknown;
}

export type Handler = (req: FakeRequest, res: ServerResponse) => void | Promise<void>;

export interface FakeServer {
  url: string;
  /** Every request body and header seen, for tests that look for a secret. */
  seen: string[];
  close(): Promise<void>;
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

async function read(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** `port` 0 (the default) lets the kernel choose; the demo asks for fixed ones. */
export async function startFakeServer(
  handler: Handler,
  tls?: TestCa,
  port = 0,
): Promise<FakeServer> {
  const seen: string[] = [];
  const sockets = new Set<Socket>();
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const body = await read(req);
      seen.push(`${req.method} ${req.url} ${JSON.stringify(req.headers)} ${body}`);
      const url = new URL(req.url ?? '/', 'http://fake');
      const type = String(req.headers['content-type'] ?? '');
      let params: Record<string, string> = {};
      let json: unknown = undefined;
      if (type.startsWith('application/x-www-form-urlencoded')) {
        params = Object.fromEntries(new URLSearchParams(body));
      } else if (body.length > 0) {
        try {
          json = JSON.parse(body);
        } catch {
          json = undefined;
        }
      }
      try {
        await handler(
          { method: req.method ?? 'GET', url, headers: req.headers, body, params, json },
          res,
        );
      } catch (err) {
        sendJson(res, 500, { message: `emulator error: ${String(err)}` });
      }
    })();
  };
  const server: Server = tls
    ? createHttpsServer({ key: tls.key, cert: tls.cert }, listener)
    : createHttpServer(listener);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${bound}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** `Authorization: Basic` credentials, or undefined. */
export function basicCredentials(req: FakeRequest): { user: string; password: string } | undefined {
  const header = req.headers.authorization;
  if (!header?.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return undefined;
  return {
    user: decodeURIComponent(decoded.slice(0, i)),
    password: decodeURIComponent(decoded.slice(i + 1)),
  };
}

export function bearer(req: FakeRequest): string | undefined {
  const header = req.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice(7) : undefined;
}
