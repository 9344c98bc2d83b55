import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FakeToken } from './tokens';

/** Vault's response envelopes and request body parsing. */

export function envelope(data: unknown, auth: unknown = null): Record<string, unknown> {
  return {
    request_id: randomUUID(),
    lease_id: '',
    renewable: false,
    lease_duration: 0,
    data,
    wrap_info: null,
    warnings: null,
    auth,
  };
}

export function authBlock(token: FakeToken, leaseDuration: number): Record<string, unknown> {
  return {
    client_token: token.id,
    accessor: randomUUID(),
    policies: token.policies,
    token_policies: token.policies,
    metadata: {},
    lease_duration: leaseDuration,
    renewable: token.renewable,
  };
}

export function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(text === '' ? undefined : (JSON.parse(text) as unknown));
      } catch {
        resolve(undefined);
      }
    });
  });
}
