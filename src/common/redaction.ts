import { EventEmitter } from 'node:events';

/**
 * Log redaction, by key and by pattern. Keys catch structured secrets (`{ client_secret }`),
 * patterns catch tokens that slipped into free text (an error message quoting a header, say).
 */

export const REDACTED = '[redacted]';

/** Object keys whose values are never logged, matched case-insensitively at any depth. */
const SECRET_KEY =
  /^(authorization|cookie|set-cookie|x-vault-token|password|passwd|secret|token|access_?token|refresh_?token|id_?token|client_?secret|secret_?id|private_?key|api_?key|code_?verifier|state|assertion|ciphertext|auth_?key|ssh_?private_?key)$/i;

/** Token shapes from the providers and ourselves. */
const SECRET_PATTERNS: RegExp[] = [
  /ya29\.[A-Za-z0-9._-]+/g, // Google access tokens
  /1\/\/[A-Za-z0-9._-]{10,}/g, // Google refresh tokens
  /tskey-[A-Za-z0-9-]+/g, // Tailscale keys
  /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*/g, // JWTs (Azure, OIDC, ours)
  /hv[sbr]\.[A-Za-z0-9_-]{10,}/g, // Vault tokens
  /cbk_[A-Za-z0-9_-]{10,}/g, // broker API keys
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g,
  /(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi,
  /([?&](code|state|access_token|refresh_token|client_secret|code_verifier)=)[^&\s"']+/gi,
];

export function redactString(value: string): string {
  let out = value;
  for (const pattern of SECRET_PATTERNS) {
    out = out.replace(pattern, (_match: string, prefix?: string) =>
      typeof prefix === 'string' && prefix.endsWith('=') ? `${prefix}${REDACTED}` : REDACTED,
    );
  }
  return out;
}

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** Deep copy with secret keys masked and secret patterns removed from every string. */
export function redact(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return redactString(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > 8) return '[depth]';
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (value instanceof Error) {
    const out: Record<string, unknown> = {
      type: value.name,
      message: redactString(value.message),
      stack: value.stack ? redactString(value.stack) : undefined,
    };
    const code = (value as { code?: unknown }).code;
    if (typeof code === 'string' || typeof code === 'number') out.code = code;
    if (value.cause !== undefined) out.cause = redact(value.cause, depth + 1, seen);
    return out;
  }
  if (Buffer.isBuffer(value)) return REDACTED;
  // Requests, responses and sockets reach the logger whole (pino-http) and are reduced by their
  // serializers afterwards, which print only method, URL (redacted) and status. Walking their
  // object graphs here would cost more than the rest of a request.
  if (value instanceof EventEmitter) return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] =
      isSecretKey(k) && v !== null && v !== undefined && typeof v !== 'object'
        ? REDACTED
        : redact(v, depth + 1, seen);
  }
  return out;
}
