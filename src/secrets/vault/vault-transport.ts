import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** What node-vault hands its `request-promise` function (after merging `requestOptions`). */
export interface VaultRequestOptions {
  uri: string;
  method: string;
  headers?: Record<string, string>;
  json?: unknown;
}

/** What node-vault's `handleVaultResponse` expects back. */
export interface VaultRawResponse {
  statusCode: number;
  body: unknown;
  request: { path: string };
}

/**
 * A failure to get any HTTP answer (refused, reset, TLS, timeout). It carries the method and the
 * URL path only: never headers, so never the token.
 */
export class VaultTransportError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'VaultTransportError';
  }
}

export interface VaultTransportOptions {
  timeoutMs: number;
  /** PEM of the CA that signs Vault's certificate (VAULT_CA_CERT). */
  ca?: string;
}

export type VaultRequestFn = (options: VaultRequestOptions) => Promise<VaultRawResponse>;

/**
 * node-vault's `request-promise` hook, still needed with node-vault 0.12. Its bundled axios
 * wrapper now takes `requestOptions.ca` and a timeout, but (1) a refused, reset or timed-out
 * request rejects with the AxiosError itself, whose `config.headers` holds `X-Vault-Token` (and
 * whose `request` keeps the raw request head), so a log line or an error body that serialises it
 * prints the Vault token; (2) axios's `timeout` is a socket-idle timer (`req.setTimeout`), so a
 * Vault that trickles bytes holds a request far past it. This transport has a CA, a whole-request
 * deadline, and errors that carry only the method, the path and a code.
 */
export function vaultTransport(options: VaultTransportOptions): {
  defaults: () => VaultRequestFn;
} {
  const send: VaultRequestFn = (req) => sendRequest(req, options);
  return { defaults: () => send };
}

function sendRequest(
  req: VaultRequestOptions,
  { timeoutMs, ca }: VaultTransportOptions,
): Promise<VaultRawResponse> {
  const url = new URL(req.uri);
  const label = `${req.method} ${url.pathname}`;
  const payload = req.json === undefined ? undefined : Buffer.from(JSON.stringify(req.json));
  const headers: Record<string, string> = { ...req.headers, accept: 'application/json' };
  if (payload) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(payload.length);
  }
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;

  return new Promise<VaultRawResponse>((resolve, reject) => {
    const outgoing = send(url, { method: req.method, headers, ca }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', (err: NodeJS.ErrnoException) => fail(err));
      res.on('end', () => {
        clearTimeout(deadline);
        resolve({
          statusCode: res.statusCode ?? 0,
          body: parseBody(Buffer.concat(chunks).toString('utf8')),
          request: { path: url.pathname },
        });
      });
    });
    const fail = (err: NodeJS.ErrnoException): void => {
      clearTimeout(deadline);
      const code = err.code ?? 'EVAULTIO';
      reject(new VaultTransportError(`${label} failed: ${code}`, code));
    };
    const deadline = setTimeout(() => {
      outgoing.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    deadline.unref();
    outgoing.on('error', fail);
    outgoing.end(payload);
  });
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined; // a proxy's HTML error page: the status code says enough
  }
}
