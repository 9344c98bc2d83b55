import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { KvStore, type StoredValue } from './kv-store';
import { TokenTable, type FakeToken, type TokenOptions } from './tokens';
import { authBlock, envelope, readJson } from './wire';

/**
 * An in-process HashiCorp Vault for tests: KV v2 (data, metadata, destroy), token auth with TTLs
 * that really expire, AppRole and Kubernetes login, sys/health, sealing and outages. Wire format as Vault's.
 */

export interface FakeVaultOptions {
  /** KV v2 mounts (default `['secret']`). */
  mounts?: string[];
  /** Serve HTTPS with this key and certificate (PEM). */
  tls?: { key: string; cert: string };
  port?: number;
}

export interface VaultCall {
  method: string;
  path: string; // without the query string
  query: string;
  token: string | undefined;
  namespace: string | undefined;
  status?: number; // set once answered
}

export interface AppRoleOptions extends TokenOptions {
  mount?: string;
}

export interface KubernetesRoleOptions extends TokenOptions {
  mount?: string;
}

export interface FakeVault {
  url: string;
  rootToken: string;
  calls: VaultCall[];
  kv: KvStore;
  tokens: TokenTable;
  addAppRole(roleId: string, secretId: string, options?: AppRoleOptions): void;
  /** A role of the Kubernetes auth method (mount `kubernetes` unless told). */
  addKubernetesRole(role: string, options?: KubernetesRoleOptions): void;
  /**
   * Service account JWTs the Kubernetes login accepts (Vault would ask the TokenReview API);
   * `distrustJwt` makes one fail as an expired or rotated-away token does.
   */
  trustJwt(jwt: string): void;
  distrustJwt(jwt: string): void;
  createToken(options?: TokenOptions): FakeToken;
  revokeToken(token: string): void;
  seal(): void;
  unseal(): void;
  /** Accept connections but never answer (for timeouts). */
  hang(on: boolean): void;
  /** Refuse connections (the port closes) until `start()`. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Every live stored value, for tests that search for a secret. */
  values(): StoredValue[];
  close(): Promise<void>;
}

interface AppRole {
  secretId: string;
  mount: string;
  token: TokenOptions;
}

type Reply = [status: number, body?: unknown];

export async function startFakeVault(options: FakeVaultOptions = {}): Promise<FakeVault> {
  const mounts = new Set(options.mounts ?? ['secret']);
  const kv = new KvStore();
  const tokens = new TokenTable();
  const root = tokens.create({ policies: ['root'] });
  const appRoles = new Map<string, AppRole>();
  const k8sRoles = new Map<string, { mount: string; token: TokenOptions }>();
  const trustedJwts = new Set<string>();
  const calls: VaultCall[] = [];
  const sockets = new Set<Socket>();
  let sealed = false;
  let hanging = false;

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    void readJson(req).then((body) => {
      if (hanging) return;
      const url = new URL(req.url ?? '/', 'http://vault');
      const header = (name: string) => {
        const v = req.headers[name];
        return Array.isArray(v) ? v[0] : v;
      };
      const call: VaultCall = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.search,
        token: header('x-vault-token'),
        namespace: header('x-vault-namespace'),
      };
      calls.push(call);
      const [status, payload] = route(call, url.searchParams, body);
      call.status = status;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(payload === undefined ? undefined : JSON.stringify(payload));
    });
  };

  function route(call: VaultCall, query: URLSearchParams, body: unknown): Reply {
    const path = call.path.replace(/^\/v1\//, '');
    if (path === 'sys/health') return health();
    if (sealed) return [503, { errors: ['Vault is sealed'] }];
    const login = /^auth\/(.+)\/login$/.exec(path);
    if (login && call.method !== 'GET') {
      const isK8s = [...k8sRoles.values()].some((r) => r.mount === login[1]);
      return isK8s ? kubernetesLogin(login[1], body) : appRoleLogin(login[1], body);
    }
    const token = tokens.valid(call.token);
    if (!token) return [403, { errors: ['permission denied'] }];
    if (path === 'auth/token/lookup-self') return lookupSelf(token);
    if (path === 'auth/token/renew-self' && call.method !== 'GET') return renewSelf(token);
    const kvPath = /^([^/]+)\/(data|metadata|destroy)\/(.*)$/.exec(path);
    if (kvPath && mounts.has(kvPath[1])) {
      const [, mount, area, rest] = kvPath;
      return kvRoute(call.method, mount, area, decodeURIComponent(rest), query, body);
    }
    return [404, { errors: [] }];
  }

  function health(): Reply {
    const body = {
      initialized: true,
      sealed,
      standby: sealed,
      version: '1.17.0-fake',
      cluster_name: 'fake',
    };
    return [sealed ? 503 : 200, body];
  }

  function appRoleLogin(mount: string, body: unknown): Reply {
    const { role_id: roleId, secret_id: secretId } = (body ?? {}) as Record<string, unknown>;
    const role = typeof roleId === 'string' ? appRoles.get(roleId) : undefined;
    if (!role || role.mount !== mount) return [400, { errors: ['invalid role ID'] }];
    if (role.secretId !== secretId) return [400, { errors: ['invalid secret id'] }];
    const token = tokens.create({ ttl: 3600, ...role.token });
    return [200, envelope(null, authBlock(token, token.ttl))];
  }

  /** As Vault: 400 for an unknown role, 403 for a JWT the TokenReview does not accept. */
  function kubernetesLogin(mount: string, body: unknown): Reply {
    const { role: name, jwt } = (body ?? {}) as Record<string, unknown>;
    const role = typeof name === 'string' ? k8sRoles.get(name) : undefined;
    if (!role || role.mount !== mount)
      return [400, { errors: [`invalid role name "${String(name)}"`] }];
    if (typeof jwt !== 'string' || !trustedJwts.has(jwt)) {
      return [403, { errors: ['permission denied'] }];
    }
    const token = tokens.create({ ttl: 3600, ...role.token });
    return [200, envelope(null, authBlock(token, token.ttl))];
  }

  function lookupSelf(token: FakeToken): Reply {
    const data = {
      id: token.id,
      policies: token.policies,
      ttl: tokens.remaining(token),
      creation_ttl: token.ttl,
      renewable: token.renewable,
      expire_time: token.expiresAt === Infinity ? null : new Date(token.expiresAt).toISOString(),
    };
    return [200, envelope(data)];
  }

  function renewSelf(token: FakeToken): Reply {
    if (!token.renewable) return [400, { errors: ['lease is not renewable'] }];
    return [200, envelope(null, authBlock(token, tokens.renew(token)))];
  }

  function kvRoute(
    method: string,
    mount: string,
    area: string,
    path: string,
    query: URLSearchParams,
    body: unknown,
  ): Reply {
    // Only `GET ?list=1`: Node's HTTP parser answers 400 to the LIST verb before we see it.
    const isList = method === 'GET' && ['1', 'true'].includes(query.get('list') ?? '');
    if (area === 'metadata' && isList) {
      const keys = kv.list(mount, path);
      return keys ? [200, envelope({ keys })] : [404, { errors: [] }];
    }
    if (area === 'metadata' && method === 'DELETE') {
      kv.deleteMetadata(mount, path);
      return [204];
    }
    if (area === 'destroy' && (method === 'POST' || method === 'PUT')) {
      const versions = (body as { versions?: unknown } | undefined)?.versions;
      kv.destroyVersions(mount, path, Array.isArray(versions) ? versions.map(Number) : []);
      return [204];
    }
    if (area !== 'data') return [405, { errors: ['unsupported operation'] }];
    if (method === 'GET') return readData(mount, path, query.get('version'));
    if (method === 'DELETE') {
      kv.softDeleteLatest(mount, path);
      return [204];
    }
    if (method === 'POST' || method === 'PUT') return writeData(mount, path, body);
    return [405, { errors: ['unsupported operation'] }];
  }

  function readData(mount: string, path: string, versionParam: string | null): Reply {
    const entry = kv.get(mount, path);
    const version =
      versionParam && versionParam !== '0' ? Number(versionParam) : entry?.currentVersion;
    const v = version === undefined ? undefined : entry?.versions.get(version);
    if (!v || version === undefined) return [404, { errors: [] }];
    const metadata = {
      version,
      created_time: v.createdTime,
      deletion_time: v.deletionTime,
      destroyed: v.destroyed,
      custom_metadata: null,
    };
    // As Vault: a deleted or destroyed version answers 404 but still carries its metadata.
    const gone = v.destroyed || v.deletionTime !== '';
    return [gone ? 404 : 200, envelope({ data: gone ? null : v.data, metadata })];
  }

  function writeData(mount: string, path: string, body: unknown): Reply {
    const { data, options: opts } = (body ?? {}) as { data?: unknown; options?: { cas?: unknown } };
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      return [400, { errors: ['no data provided'] }];
    }
    const cas = opts?.cas === undefined ? undefined : Number(opts.cas);
    const result = kv.write(mount, path, data as Record<string, unknown>, cas);
    if (!result.ok)
      return [400, { errors: ['check-and-set parameter did not match the current version'] }];
    const { meta } = result;
    return [
      200,
      envelope({
        version: result.version,
        created_time: meta.createdTime,
        deletion_time: '',
        destroyed: false,
      }),
    ];
  }

  const server: Server = options.tls
    ? createHttpsServer(options.tls, handler)
    : createHttpServer(handler);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  let port = options.port ?? 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      if (server.listening) return resolve();
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  const shut = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      if (!server.listening) return resolve();
      server.close(() => resolve());
    });
  await listen();

  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    rootToken: root.id,
    calls,
    kv,
    tokens,
    addAppRole: (roleId, secretId, { mount = 'approle', ...token } = {}) =>
      void appRoles.set(roleId, { secretId, mount, token }),
    addKubernetesRole: (role, { mount = 'kubernetes', ...token } = {}) =>
      void k8sRoles.set(role, { mount, token }),
    trustJwt: (jwt) => void trustedJwts.add(jwt),
    distrustJwt: (jwt) => void trustedJwts.delete(jwt),
    createToken: (opts) => tokens.create(opts),
    revokeToken: (t) => tokens.revoke(t),
    seal: () => void (sealed = true),
    unseal: () => void (sealed = false),
    hang: (on) => void (hanging = on),
    stop: shut,
    start: listen,
    values: () => kv.values(),
    close: shut,
  };
}
