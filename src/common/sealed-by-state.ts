import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Seals a value (a PKCE verifier) with a key derived from a one-time state, so the server-side
 * record of a login holds nothing usable by itself: only the browser that carries the state can
 * unseal it. AES-256-GCM, a random nonce; `purpose` separates the keys of different flows.
 */
function stateKey(state: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(state, 'utf8'), Buffer.alloc(0), purpose, 32));
}

const b64url = (buf: Buffer) => buf.toString('base64url');

export function seal(state: string, value: string, purpose = 'cbk oauth verifier'): string {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', stateKey(state, purpose), nonce);
  const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${b64url(nonce)}.${b64url(body)}`;
}

/** Throws when `sealed` was not made with this state and purpose. */
export function unseal(state: string, sealed: string, purpose = 'cbk oauth verifier'): string {
  const [nonce, body] = sealed.split('.').map((p) => Buffer.from(p, 'base64url'));
  const decipher = createDecipheriv('aes-256-gcm', stateKey(state, purpose), nonce);
  decipher.setAuthTag(body.subarray(body.length - 16));
  return Buffer.concat([
    decipher.update(body.subarray(0, body.length - 16)),
    decipher.final(),
  ]).toString('utf8');
}
