import { createHash, randomBytes } from 'node:crypto';
import { type ParseError, parse } from 'jsonc-parser';
import { type ServerResponse } from 'node:http';
import {
  type FakeRequest,
  basicCredentials,
  bearer,
  sendJson,
  startFakeServer,
} from '../tls/emulator-server';

/**
 * The Tailscale API v2 as the broker uses it: OAuth client-credentials tokens (form or Basic),
 * devices, the policy file kept as the text its owner wrote (HuJSON: comments, trailing commas)
 * with an ETag (GET as HuJSON, or as JSON when asked with `Accept: application/json`; POST of
 * HuJSON or JSON only with an If-Match that names the current ETag — 412 on a mismatch, 428
 * without one; every call recorded in `aclCalls`), auth keys (create/get/delete) with the
 * rule that an OAuth client's keys must carry tags that the ACL gives an owner, and
 * Tailscale-shaped errors (`{"message": "..."}`).
 */

export interface FakeTailscaleClient {
  clientId: string;
  secret: string;
  /** e.g. devices:core:read, policy_file, auth_keys. */
  scopes: string[];
  /** The tailnet the client belongs to: its organisation name and its DNS name. */
  tailnet: string;
}

export interface FakeKey {
  id: string;
  key: string;
  tailnet: string;
  tags: string[];
  reusable: boolean;
  preauthorized: boolean;
  expires: string;
  description: string;
}

/** One GET or POST of a tailnet's ACL, as answered. */
export interface FakeAclCall {
  tailnet: string;
  method: 'GET' | 'POST';
  /** GET: the ETag served. POST: the ETag of the ACL the write found (before it). */
  etag: string;
  /** POST: the If-Match header sent, if any. */
  ifMatch?: string;
  status: number;
}

export interface FakeTailscale {
  url: string;
  addClient(client: FakeTailscaleClient): void;
  /** The client is deleted: its tokens stop working and it can mint no more. */
  revokeClient(clientId: string): void;
  setDevices(tailnet: string, devices: { name: string; user: string }[]): void;
  /** Answer the next n token requests with this status. */
  failTokens(n: number, status?: number): void;
  addKey(tailnet: string, tags: string[]): FakeKey;
  keys: Map<string, FakeKey>;
  deletedKeys: string[];
  acl: Map<string, string>;
  aclCalls: FakeAclCall[];
  issuedTokens: string[];
  receivedSecrets: string[];
  tokenAuthStyles: ('form' | 'basic')[];
  seen: string[];
  close(): Promise<void>;
}

const hasScope = (granted: string[], needed: string, write = false): boolean =>
  granted.includes('all') ||
  (!write && granted.includes('all:read')) ||
  granted.includes(needed) ||
  (!write && granted.includes(`${needed}:read`));

/** A new tailnet's policy file, as people write them: comments and trailing commas. */
export const DEFAULT_POLICY = `{
  // default policy: everyone reaches everything
  "acls": [
    {"action": "accept", "src": ["*"], "dst": ["*:*"]}, // the whole tailnet
  ],

  // who may apply which tag
  "tagOwners": {},
}
`;

const message = (res: ServerResponse, status: number, text: string) =>
  sendJson(res, status, { message: text });

export async function startFakeTailscale(options: { port?: number } = {}): Promise<FakeTailscale> {
  const clients = new Map<string, FakeTailscaleClient>();
  const tokens = new Map<string, { clientId: string; expiresAt: number }>();
  const devices = new Map<string, { id: string; name: string; user: string }[]>();
  const acl = new Map<string, string>();
  const keys = new Map<string, FakeKey>();
  const aclCalls: FakeAclCall[] = [];
  const s = {
    issuedTokens: [] as string[],
    receivedSecrets: [] as string[],
    tokenAuthStyles: [] as ('form' | 'basic')[],
    deletedKeys: [] as string[],
    failures: 0,
    failStatus: 500,
  };
  const etag = (body: string) =>
    `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`;
  const aclOf = (tailnet: string) => acl.get(tailnet) ?? DEFAULT_POLICY;
  /** The policy file as JSON (HuJSON's comments and trailing commas dropped); undefined if invalid. */
  const parseAcl = (text: string) => {
    const errors: ParseError[] = [];
    const value = parse(text, errors, { allowTrailingComma: true }) as unknown;
    if (errors.length > 0 || typeof value !== 'object' || value === null) return undefined;
    return value as { tagOwners?: Record<string, unknown> };
  };

  function token(req: FakeRequest, res: ServerResponse): void {
    const basic = basicCredentials(req);
    const clientId = basic?.user ?? req.params.client_id;
    const secret = basic?.password ?? req.params.client_secret;
    s.tokenAuthStyles.push(basic ? 'basic' : 'form');
    if (secret) s.receivedSecrets.push(secret);
    if (s.failures > 0) {
      s.failures--;
      message(res, s.failStatus, 'temporarily unavailable');
      return;
    }
    const client = clientId ? clients.get(clientId) : undefined;
    if (!client || client.secret !== secret) {
      message(res, 401, 'invalid client credentials');
      return;
    }
    const accessToken = `tskey-api-${randomBytes(6).toString('hex')}-${randomBytes(16).toString('hex')}`;
    tokens.set(accessToken, { clientId: client.clientId, expiresAt: Date.now() + 3600_000 });
    s.issuedTokens.push(accessToken);
    sendJson(res, 200, {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: 3600,
      scope: client.scopes.join(' '),
    });
  }

  function tailnetCall(
    req: FakeRequest,
    res: ServerResponse,
    tailnet: string,
    rest: string[],
  ): void {
    const presented = bearer(req);
    const grant = presented ? tokens.get(presented) : undefined;
    const client = grant ? clients.get(grant.clientId) : undefined;
    if (!grant || !client || grant.expiresAt < Date.now()) {
      message(res, 401, 'API token invalid');
      return;
    }
    if (tailnet !== '-' && tailnet !== client.tailnet) {
      message(res, 404, 'tailnet not found');
      return;
    }
    const t = client.tailnet;
    const deny = () => message(res, 403, 'calling actor does not have enough permissions to perform this function'); // prettier-ignore
    const [what, id] = rest;
    if (what === 'devices' && req.method === 'GET' && !id) {
      if (!hasScope(client.scopes, 'devices:core')) return deny();
      sendJson(res, 200, { devices: devices.get(t) ?? [] });
    } else if (what === 'acl' && req.method === 'GET') {
      if (!hasScope(client.scopes, 'policy_file')) return deny();
      const body = aclOf(t);
      aclCalls.push({ tailnet: t, method: 'GET', etag: etag(body), status: 200 });
      sendPolicy(req, res, body);
    } else if (what === 'acl' && req.method === 'POST') {
      if (!hasScope(client.scopes, 'policy_file', true)) return deny();
      const ifMatch = req.headers['if-match'];
      const call: FakeAclCall = { tailnet: t, method: 'POST', etag: etag(aclOf(t)), ifMatch, status: 412 }; // prettier-ignore
      aclCalls.push(call);
      // The broker always names the version it read: a write without one would be blind.
      if (ifMatch === undefined || ifMatch === '') {
        call.status = 428;
        message(res, 428, 'If-Match required');
        return;
      }
      if (ifMatch !== etag(aclOf(t))) {
        message(res, 412, 'precondition failed, invalid old hash');
        return;
      }
      if (!parseAcl(req.body)) {
        call.status = 400;
        message(res, 400, 'invalid policy file');
        return;
      }
      call.status = 200;
      acl.set(t, req.body);
      sendPolicy(req, res, req.body);
    } else if (what === 'keys' && req.method === 'POST' && !id) {
      if (!hasScope(client.scopes, 'auth_keys', true)) return deny();
      createKey(req, res, t);
    } else if (what === 'keys' && id && (req.method === 'GET' || req.method === 'DELETE')) {
      if (!hasScope(client.scopes, 'auth_keys', req.method === 'DELETE')) return deny();
      const key = keys.get(id);
      if (!key || key.tailnet !== t) {
        message(res, 404, 'key not found');
        return;
      }
      if (req.method === 'DELETE') {
        keys.delete(id);
        s.deletedKeys.push(id);
        res.writeHead(200).end();
        return;
      }
      sendJson(res, 200, present(key));
    } else {
      message(res, 404, `no route ${req.method} ${req.url.pathname}`);
    }
  }

  /** Tailscale answers the JSON form (comments dropped) when asked; the ETag is the file's. */
  function sendPolicy(req: FakeRequest, res: ServerResponse, body: string): void {
    if (String(req.headers.accept ?? '').includes('application/json')) {
      sendJson(res, 200, parseAcl(body), { etag: etag(body) });
      return;
    }
    res.writeHead(200, { 'content-type': 'application/hujson', etag: etag(body) });
    res.end(body);
  }

  function createKey(req: FakeRequest, res: ServerResponse, tailnet: string): void {
    const body = req.json as
      | {
          capabilities?: {
            devices?: { create?: { reusable?: boolean; preauthorized?: boolean; tags?: string[] } };
          };
          expirySeconds?: number;
          description?: string;
        }
      | undefined;
    const create = body?.capabilities?.devices?.create ?? {};
    const tags = create.tags ?? [];
    // OAuth clients may only create tagged keys, with tags that have an owner in the policy.
    const owners = parseAcl(aclOf(tailnet))?.tagOwners ?? {};
    if (tags.length === 0 || tags.some((tag) => !(tag in owners))) {
      message(res, 400, `requested tags [${tags.join(', ')}] are invalid or not permitted`);
      return;
    }
    const key = addKey(tailnet, tags, create, body);
    sendJson(res, 200, { ...present(key), key: key.key });
  }

  function addKey(
    tailnet: string,
    tags: string[],
    create: { reusable?: boolean; preauthorized?: boolean } = {
      reusable: true,
      preauthorized: true,
    },
    body?: { expirySeconds?: number; description?: string },
  ): FakeKey {
    const id = `k${randomBytes(8).toString('hex')}CNTRL`;
    const key: FakeKey = {
      id,
      key: `tskey-auth-${id}-${randomBytes(16).toString('hex')}`,
      tailnet,
      tags,
      reusable: create.reusable ?? false,
      preauthorized: create.preauthorized ?? false,
      expires: new Date(Date.now() + (body?.expirySeconds ?? 90 * 86400) * 1000).toISOString(),
      description: body?.description ?? '',
    };
    keys.set(id, key);
    return key;
  }

  const present = (k: FakeKey) => ({
    id: k.id,
    created: new Date().toISOString(),
    expires: k.expires,
    description: k.description,
    capabilities: { devices: { create: { reusable: k.reusable, ephemeral: false, preauthorized: k.preauthorized, tags: k.tags } } }, // prettier-ignore
  });

  const server = await startFakeServer(
    (req, res) => {
      const parts = req.url.pathname.split('/').filter(Boolean);
      if (parts[0] !== 'api' || parts[1] !== 'v2') return message(res, 404, 'not found');
      if (req.method === 'POST' && parts[2] === 'oauth' && parts[3] === 'token')
        return token(req, res);
      if (parts[2] === 'tailnet' && parts[3]) return tailnetCall(req, res, decodeURIComponent(parts[3]), parts.slice(4)); // prettier-ignore
      message(res, 404, 'not found');
    },
    undefined,
    options.port,
  );

  return {
    url: server.url,
    seen: server.seen,
    keys,
    acl,
    aclCalls,
    addClient: (c) => void clients.set(c.clientId, c),
    revokeClient: (clientId) => {
      clients.delete(clientId);
      for (const [t, g] of tokens) if (g.clientId === clientId) tokens.delete(t);
    },
    setDevices: (tailnet, list) =>
      void devices.set(
        tailnet,
        list.map((d, i) => ({ id: String(1000 + i), ...d })),
      ),
    failTokens: (n, status = 500) => {
      s.failures = n;
      s.failStatus = status;
    },
    addKey: (tailnet, tags) => addKey(tailnet, tags),
    get deletedKeys() {
      return s.deletedKeys;
    },
    get issuedTokens() {
      return s.issuedTokens;
    },
    get receivedSecrets() {
      return s.receivedSecrets;
    },
    get tokenAuthStyles() {
      return s.tokenAuthStyles;
    },
    close: () => server.close(),
  };
}
