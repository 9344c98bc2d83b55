import { randomBytes } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { type AddressInfo } from 'node:net';

/**
 * The Google Cloud APIs that setup calls, on one origin (what GCP_API_ROOT_URL points at):
 * Resource Manager v1 (projects.list, get/setIamPolicy with etags), Cloud Billing (billingInfo),
 * Service Usage (batchEnable + long-running operations), IAM (serviceAccounts create/delete,
 * keys list/delete), IAM Credentials (generateAccessToken) and BigQuery v2 (datasets.list,
 * tables.list, paged). Both Service Usage and Resource Manager serve
 * `/v1/operations/{name}`, so operations are routed by the name the emulator handed out. Every
 * call is recorded; wire format as Google's (errors as `{ error: { code, message, status } }`).
 */

export interface FakeProject {
  projectId: string;
  name?: string;
  projectNumber?: string;
  lifecycleState?: 'ACTIVE' | 'DELETE_REQUESTED';
  billingEnabled?: boolean;
}

export interface GoogleApiCall {
  api: 'crm' | 'billing' | 'serviceusage' | 'iam' | 'iamcredentials' | 'bigquery';
  method: string;
  /** e.g. `projects.list`, `services.batchEnable`, `operations.get`. */
  op: string;
  path: string;
  query: Record<string, string[]>;
  body: unknown;
  status?: number;
}

/** A BigQuery dataset the emulator serves, with its tables. */
export interface FakeDataset {
  datasetId: string;
  location?: string;
  tables: string[];
}

export interface Binding {
  role: string;
  members: string[];
  condition?: unknown;
}

export interface FakeGoogleApis {
  url: string;
  calls: GoogleApiCall[];
  /** Tokens the APIs accept (the OAuth emulator's access tokens, or a test's own). */
  acceptTokens(...tokens: string[]): void;
  setProjects(projects: FakeProject[]): void;
  /** Service Usage operations finish after this many operations.get polls (default 2). */
  operationPolls: number;
  /** The next N setIamPolicy calls answer 409 ABORTED (as a concurrent writer would cause). */
  etagConflicts: number;
  /** generateAccessToken answers 403 until this long after the account was granted its roles. */
  propagationDelayMs: number;
  /** Answer 403 PERMISSION_DENIED, naming `permission`, for calls of this op. */
  deny(op: string, permission: string): void;
  allow(op: string): void;
  enabledServices(projectId: string): string[];
  serviceAccounts(projectId: string): string[];
  /** Gives a service account a user-managed key; returns the key's resource name. */
  addKey(email: string): string;
  /** The resource names of an account's user-managed keys. */
  keysOf(email: string): string[];
  /** The BigQuery datasets (and their tables) of a project; none by default. */
  setDatasets(projectId: string, datasets: FakeDataset[]): void;
  /** BigQuery answers 403 SERVICE_DISABLED for this project, as when its API is off. */
  disableBigQuery(projectId: string): void;
  /** Datasets and tables lists answer at most this many items per page (default 2). */
  pageSize: number;
  policy(projectId: string): { bindings: Binding[]; etag: string };
  /** Calls of one op, optionally filtered by a path fragment. */
  callsOf(op: string, pathPart?: string): GoogleApiCall[];
  close(): Promise<void>;
}

interface Operation {
  name: string;
  polls: number;
  project: string;
  services: string[];
}

export async function startFakeGoogleApis(
  options: { isValidToken?: (token: string) => boolean; port?: number } = {},
): Promise<FakeGoogleApis> {
  const tokens = new Set<string>();
  let projects: FakeProject[] = [];
  const enabled = new Map<string, Set<string>>();
  const accounts = new Map<string, Set<string>>();
  const policies = new Map<string, { bindings: Binding[]; etag: string }>();
  const grantedAt = new Map<string, number>();
  const operations = new Map<string, Operation>();
  const denied = new Map<string, string>();
  const keys = new Map<string, Set<string>>();
  const datasets = new Map<string, FakeDataset[]>();
  const bigqueryOff = new Set<string>();
  const calls: GoogleApiCall[] = [];

  const policyOf = (project: string) => {
    let p = policies.get(project);
    if (!p) {
      p = {
        bindings: [{ role: 'roles/owner', members: ['user:owner@example.com'] }],
        etag: etag(),
      };
      policies.set(project, p);
    }
    return p;
  };

  const fake: FakeGoogleApis = {
    url: '',
    calls,
    operationPolls: 2,
    etagConflicts: 0,
    propagationDelayMs: 0,
    acceptTokens: (...t: string[]) => t.forEach((x) => tokens.add(x)),
    setProjects: (p: FakeProject[]) => (projects = p),
    deny: (op: string, permission: string) => denied.set(op, permission),
    allow: (op: string) => denied.delete(op),
    enabledServices: (p: string) => [...(enabled.get(p) ?? [])].sort(),
    serviceAccounts: (p: string) => [...(accounts.get(p) ?? [])].sort(),
    addKey: (email: string) => {
      const project = email.split('@')[1]?.split('.')[0] ?? '-';
      const name = `projects/${project}/serviceAccounts/${email}/keys/${randomBytes(20).toString('hex')}`;
      keys.set(email, (keys.get(email) ?? new Set<string>()).add(name));
      return name;
    },
    keysOf: (email: string) => [...(keys.get(email) ?? [])].sort(),
    setDatasets: (p: string, d: FakeDataset[]) => datasets.set(p, d),
    disableBigQuery: (p: string) => bigqueryOff.add(p),
    pageSize: 2,
    policy: (p: string) => policyOf(p),
    callsOf: (op: string, part?: string) =>
      calls.filter((c) => c.op === op && (part === undefined || c.path.includes(part))),
    close: async () => undefined,
  };

  type Reply = [number, unknown];
  const error = (code: number, status: string, message: string): Reply => [
    code,
    { error: { code, status, message } },
  ];

  function route(call: GoogleApiCall, req: IncomingMessage, body: Record<string, unknown>): Reply {
    const denial = denied.get(call.op);
    if (denial) {
      return error(
        403,
        'PERMISSION_DENIED',
        `Permission '${denial}' denied on resource (or it may not exist).`,
      );
    }
    const path = call.path;
    let m: RegExpExecArray | null;
    if (req.method === 'GET' && path === '/v1/projects') {
      const listed = projects.map((p) => ({
        projectId: p.projectId,
        name: p.name ?? p.projectId,
        projectNumber: p.projectNumber ?? String(100000 + projects.indexOf(p)),
        lifecycleState: p.lifecycleState ?? 'ACTIVE',
      }));
      return [200, { projects: listed }];
    }
    if (req.method === 'GET' && (m = /^\/v1\/projects\/([^/]+)\/billingInfo$/.exec(path))) {
      const project = projects.find((p) => p.projectId === m?.[1]);
      if (!project) return error(404, 'NOT_FOUND', 'project not found');
      return [
        200,
        {
          name: `projects/${project.projectId}/billingInfo`,
          billingEnabled: project.billingEnabled ?? true,
        },
      ];
    }
    if (
      req.method === 'POST' &&
      (m = /^\/v1\/projects\/([^/]+)\/services:batchEnable$/.exec(path))
    ) {
      const services = (body.serviceIds as string[] | undefined) ?? [];
      if (services.length === 0 || services.length > 20) {
        return error(400, 'INVALID_ARGUMENT', 'between 1 and 20 services per call');
      }
      const op: Operation = {
        name: `operations/acf.${randomBytes(6).toString('hex')}`,
        polls: 0,
        project: m[1],
        services,
      };
      operations.set(op.name, op);
      return [200, { name: op.name, done: false }];
    }
    if (req.method === 'GET' && (m = /^\/v1\/(operations\/.+)$/.exec(path))) {
      const op = operations.get(m[1]);
      if (!op) return error(404, 'NOT_FOUND', 'operation not found');
      op.polls += 1;
      if (op.polls < fake.operationPolls) return [200, { name: op.name, done: false }];
      const set = enabled.get(op.project) ?? new Set<string>();
      op.services.forEach((s) => set.add(s));
      enabled.set(op.project, set);
      return [
        200,
        {
          name: op.name,
          done: true,
          response: {
            '@type': 'type.googleapis.com/google.api.serviceusage.v1.BatchEnableServicesResponse',
          },
        },
      ];
    }
    if (req.method === 'POST' && (m = /^\/v1\/projects\/([^/]+)\/serviceAccounts$/.exec(path))) {
      const accountId = typeof body.accountId === 'string' ? body.accountId : '';
      const email = `${accountId}@${m[1]}.iam.gserviceaccount.com`;
      const set = accounts.get(m[1]) ?? new Set<string>();
      if (set.has(email))
        return error(409, 'ALREADY_EXISTS', `Service account ${accountId} already exists`);
      set.add(email);
      accounts.set(m[1], set);
      return [200, { name: `projects/${m[1]}/serviceAccounts/${email}`, email, projectId: m[1] }];
    }
    if (
      req.method === 'DELETE' &&
      (m = /^\/v1\/projects\/([^/]+)\/serviceAccounts\/([^/]+)$/.exec(path))
    ) {
      const set = accounts.get(m[1]);
      if (!set?.delete(m[2]))
        return error(404, 'NOT_FOUND', `Service account ${m[2]} does not exist.`);
      keys.delete(m[2]);
      return [200, {}];
    }
    if (
      req.method === 'GET' &&
      (m = /^\/v1\/projects\/([^/]+)\/serviceAccounts\/([^/]+)\/keys$/.exec(path))
    ) {
      const email = m[2];
      if (!accounts.get(m[1])?.has(email)) {
        return error(404, 'NOT_FOUND', `Service account ${email} does not exist.`);
      }
      // Google's own system-managed key is always there; keyTypes=USER_MANAGED leaves it out.
      const system = {
        name: `projects/${m[1]}/serviceAccounts/${email}/keys/system0`,
        keyType: 'SYSTEM_MANAGED',
      };
      const user = [...(keys.get(email) ?? [])].map((name) => ({ name, keyType: 'USER_MANAGED' }));
      const types = call.query.keyTypes ?? [];
      const listed = [system, ...user].filter(
        (k) => types.length === 0 || types.includes(k.keyType),
      );
      return [200, { keys: listed }];
    }
    if (
      req.method === 'DELETE' &&
      (m = /^\/v1\/projects\/[^/]+\/serviceAccounts\/([^/]+)\/keys\/[^/]+$/.exec(path))
    ) {
      if (!keys.get(m[1])?.delete(path.slice(4))) return error(404, 'NOT_FOUND', 'key not found');
      return [200, {}];
    }
    if (
      req.method === 'GET' &&
      (m = /^\/bigquery\/v2\/projects\/([^/]+)\/datasets(?:\/([^/]+)\/tables)?$/.exec(path))
    ) {
      const project = m[1];
      if (bigqueryOff.has(project)) {
        return error(
          403,
          'PERMISSION_DENIED',
          `BigQuery API has not been used in project ${project} before or it is disabled.`,
        );
      }
      const own = datasets.get(project) ?? [];
      const start = Number(call.query.pageToken?.[0] ?? '0');
      const page = <T>(items: T[]) => ({
        items: items.slice(start, start + fake.pageSize),
        next: start + fake.pageSize < items.length ? String(start + fake.pageSize) : undefined,
      });
      if (m[2] === undefined) {
        const { items, next } = page(own);
        return [
          200,
          {
            kind: 'bigquery#datasetList',
            ...(items.length > 0
              ? {
                  datasets: items.map((d) => ({
                    kind: 'bigquery#dataset',
                    id: `${project}:${d.datasetId}`,
                    datasetReference: { projectId: project, datasetId: d.datasetId },
                    location: d.location ?? 'US',
                  })),
                }
              : {}),
            ...(next ? { nextPageToken: next } : {}),
          },
        ];
      }
      const dataset = own.find((d) => d.datasetId === m?.[2]);
      if (!dataset) return error(404, 'NOT_FOUND', `Not found: Dataset ${project}:${m[2]}`);
      const { items, next } = page(dataset.tables);
      return [
        200,
        {
          kind: 'bigquery#tableList',
          totalItems: dataset.tables.length,
          ...(items.length > 0
            ? {
                tables: items.map((t) => ({
                  kind: 'bigquery#table',
                  id: `${project}:${dataset.datasetId}.${t}`,
                  tableReference: { projectId: project, datasetId: dataset.datasetId, tableId: t },
                  type: 'TABLE',
                })),
              }
            : {}),
          ...(next ? { nextPageToken: next } : {}),
        },
      ];
    }
    if (req.method === 'POST' && (m = /^\/v1\/projects\/([^/]+):getIamPolicy$/.exec(path))) {
      const p = policyOf(m[1]);
      return [200, { version: 3, etag: p.etag, bindings: p.bindings }];
    }
    if (req.method === 'POST' && (m = /^\/v1\/projects\/([^/]+):setIamPolicy$/.exec(path))) {
      const current = policyOf(m[1]);
      const policy = (body.policy ?? {}) as { etag?: string; bindings?: Binding[] };
      if (fake.etagConflicts > 0) {
        fake.etagConflicts -= 1;
        current.etag = etag(); // another writer got there first
        return error(409, 'ABORTED', 'There were concurrent policy changes.');
      }
      if (policy.etag !== current.etag)
        return error(409, 'ABORTED', 'There were concurrent policy changes.');
      const next = { bindings: policy.bindings ?? [], etag: etag() };
      policies.set(m[1], next);
      for (const b of next.bindings)
        for (const member of b.members) grantedAt.set(member, grantedAt.get(member) ?? Date.now());
      return [200, { version: 3, ...next }];
    }
    if (
      req.method === 'POST' &&
      (m = /^\/v1\/projects\/-\/serviceAccounts\/([^/:]+):generateAccessToken$/.exec(path))
    ) {
      const email = decodeURIComponent(m[1]);
      const exists = [...accounts.values()].some((s) => s.has(email));
      if (!exists) return error(404, 'NOT_FOUND', 'service account not found');
      const granted = grantedAt.get(`serviceAccount:${email}`);
      if (granted === undefined || Date.now() < granted + fake.propagationDelayMs) {
        return error(
          403,
          'PERMISSION_DENIED',
          "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).",
        );
      }
      return [
        200,
        {
          accessToken: `ya29.sa-${randomBytes(12).toString('hex')}`,
          expireTime: new Date(Date.now() + 300_000).toISOString(),
        },
      ];
    }
    return error(404, 'NOT_FOUND', `no route for ${req.method} ${path}`);
  }

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const path = decodeURIComponent(url.pathname);
      let body: Record<string, unknown> = {};
      try {
        body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      } catch {
        // left empty: the route answers as Google would to a missing field
      }
      const query: Record<string, string[]> = {};
      for (const [k, v] of url.searchParams) (query[k] ??= []).push(v);
      const call: GoogleApiCall = {
        ...classify(req.method ?? 'GET', path),
        method: req.method ?? 'GET',
        path,
        query,
        body,
      };
      calls.push(call);
      const auth = req.headers.authorization ?? '';
      const bearer = auth.replace(/^Bearer /, '');
      const [status, payload] =
        tokens.has(bearer) || options.isValidToken?.(bearer) === true
          ? route(call, req, body)
          : error(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.');
      call.status = status;
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return fake;
}

function etag(): string {
  return randomBytes(6).toString('base64');
}

function classify(method: string, path: string): Pick<GoogleApiCall, 'api' | 'op'> {
  if (path === '/v1/projects') return { api: 'crm', op: 'projects.list' };
  if (path.endsWith('/billingInfo')) return { api: 'billing', op: 'billingInfo.get' };
  if (path.endsWith('/services:batchEnable'))
    return { api: 'serviceusage', op: 'services.batchEnable' };
  if (path.startsWith('/v1/operations/')) return { api: 'serviceusage', op: 'operations.get' };
  if (path.endsWith(':generateAccessToken'))
    return { api: 'iamcredentials', op: 'generateAccessToken' };
  if (path.endsWith('/serviceAccounts') && method === 'POST')
    return { api: 'iam', op: 'serviceAccounts.create' };
  if (path.startsWith('/bigquery/v2/'))
    return { api: 'bigquery', op: path.endsWith('/tables') ? 'tables.list' : 'datasets.list' };
  if (/\/serviceAccounts\/[^/]+\/keys\/[^/]+$/.test(path)) return { api: 'iam', op: 'keys.delete' };
  if (path.endsWith('/keys')) return { api: 'iam', op: 'keys.list' };
  if (/\/serviceAccounts\/[^/:]+$/.test(path) && method === 'DELETE')
    return { api: 'iam', op: 'serviceAccounts.delete' };
  if (path.endsWith(':getIamPolicy')) return { api: 'crm', op: 'projects.getIamPolicy' };
  if (path.endsWith(':setIamPolicy')) return { api: 'crm', op: 'projects.setIamPolicy' };
  return { api: 'crm', op: 'unknown' };
}
