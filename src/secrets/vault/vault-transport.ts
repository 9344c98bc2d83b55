import { Agent, errors as undiciErrors } from 'undici';

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
  // undici rather than node:http: every refresh makes two Vault calls, and undici's client costs
  // about half of node:http's CPU per call (bench/, refresh fleet). Connections are kept alive.
  const agent = new Agent({ connect: options.ca ? { ca: options.ca } : undefined });
  const send: VaultRequestFn = (req) => sendRequest(agent, req, options.timeoutMs);
  return { defaults: () => send };
}

async function sendRequest(
  agent: Agent,
  req: VaultRequestOptions,
  timeoutMs: number,
): Promise<VaultRawResponse> {
  const url = new URL(req.uri);
  const label = `${req.method} ${url.pathname}`;
  const payload = req.json === undefined ? undefined : JSON.stringify(req.json);
  const headers: Record<string, string> = { ...req.headers, accept: 'application/json' };
  if (payload !== undefined) headers['content-type'] = 'application/json';
  // A deadline for the whole exchange, body included (undici's own timeouts are idle timers).
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  timer.unref();
  try {
    const res = await agent.request({
      origin: url.origin,
      path: url.pathname + url.search,
      method: req.method,
      headers,
      body: payload,
      signal: deadline.signal,
    });
    const text = await res.body.text();
    return { statusCode: res.statusCode, body: parseBody(text), request: { path: url.pathname } };
  } catch (err) {
    const code = deadline.signal.aborted ? 'ETIMEDOUT' : codeOf(err);
    throw new VaultTransportError(`${label} failed: ${code}`, code);
  } finally {
    clearTimeout(timer);
  }
}

/** The socket-level code (ECONNREFUSED, ECONNRESET, a TLS error) of an undici failure. */
function codeOf(err: unknown): string {
  const cause = err instanceof Error ? (err.cause as NodeJS.ErrnoException | undefined) : undefined;
  const own = (err as NodeJS.ErrnoException | undefined)?.code;
  if (cause?.code) return cause.code;
  if (err instanceof undiciErrors.UndiciError && own) return own;
  return own ?? 'EVAULTIO';
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined; // a proxy's HTML error page: the status code says enough
  }
}
