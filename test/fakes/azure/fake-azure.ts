import { randomBytes, randomUUID } from 'node:crypto';
import { type ServerResponse } from 'node:http';
import { type FakeRequest, bearer, sendJson, startFakeServer } from '../tls/emulator-server';
import { type TestCa, testCa } from '../tls/test-ca';

/**
 * Microsoft Entra ID (v2.0 endpoints), the ARM subscriptions list and Microsoft Graph's
 * application object, over HTTPS, as `@azure/identity` (MSAL), `@azure/arm-subscriptions` and a
 * Graph client see them: tenant OpenID configuration, the client-credentials token endpoint
 * (including the claims-bearing CAE request the ARM pipeline makes) for the ARM and Graph
 * audiences, AADSTS-shaped errors, `GET /subscriptions` with nextLink paging, and
 * `GET /v1.0/applications(appId='…')` with the app's `passwordCredentials` (hint, keyId,
 * endDateTime; never the secret) or Graph's `Authorization_RequestDenied`.
 */

export interface FakeSubscription {
  subscriptionId: string;
  displayName: string;
  state: 'Enabled' | 'Disabled' | 'Warned' | 'PastDue' | 'Deleted';
}

/** A password credential as Graph shows it: never the secret, its first three characters. */
export interface FakePasswordCredential {
  keyId: string;
  hint: string;
  displayName?: string;
  startDateTime?: string;
  endDateTime: string;
}

export interface FakeApp {
  clientId: string;
  secret: string;
  /** The secret exists but has expired (AADSTS7000222). */
  secretExpired?: boolean;
  subscriptions: FakeSubscription[];
  /**
   * What Graph lists as the app's secrets. Default: one for `secret`, ending `secretExpiresAt`
   * (default a year from when the app is added).
   */
  passwordCredentials?: FakePasswordCredential[];
  secretExpiresAt?: Date;
  /** The principal may not read its own application in Graph: 403 Authorization_RequestDenied. */
  graphDenied?: boolean;
}

export interface TokenRequest {
  tenant: string;
  clientId: string;
  scope: string;
  claims?: string;
}

export interface FakeAzure {
  url: string;
  ca: TestCa;
  /** The broker's settings for this emulator: Entra ID, ARM and Graph at its URL, its CA trusted. */
  env(): Record<string, string>;
  addTenant(tenantId: string): void;
  /** A verified domain that names the tenant (contoso.onmicrosoft.com). */
  addDomain(domain: string, tenantId: string): void;
  addApp(tenantId: string, app: FakeApp): void;
  /** Every token the emulator issued, and every client secret it received. */
  issuedTokens: string[];
  receivedSecrets: string[];
  tokenRequests: TokenRequest[];
  armRequests: string[];
  /** Every Graph request: path and query, and the app it asked for. */
  graphRequests: string[];
  /** Answer the next n token (or ARM) requests with 503. */
  failTokens(n: number): void;
  /** The next n token requests are taken and never answered (until close), like a hung Entra ID. */
  hangTokens(n: number): void;
  failArm(n: number): void;
  /** The next n Graph requests answer 503. */
  failGraph(n: number): void;
  /** The next n Graph requests are taken and never answered (until close). */
  hangGraph(n: number): void;
  /** Graph refuses (403 Authorization_RequestDenied) every principal while on. */
  denyGraph(on: boolean): void;
  /** The password credentials Graph lists for an app (to change them: rotate, expire soon). */
  passwordCredentials(tenantId: string, clientId: string): FakePasswordCredential[];
  pageSize: number;
  seen: string[];
  close(): Promise<void>;
}

const ARM_SCOPE = 'https://management.azure.com/.default';
const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
/** The audience (aud) a token is issued for, by the scope it was asked with. */
const AUDIENCES: Record<string, string> = {
  [ARM_SCOPE]: 'https://management.azure.com',
  [GRAPH_SCOPE]: 'https://graph.microsoft.com',
};

function graphError(res: ServerResponse, status: number, code: string, message: string): void {
  const date = new Date().toISOString().replace(/\.\d+Z$/, '');
  sendJson(res, status, {
    error: {
      code,
      message,
      innerError: { date, 'request-id': randomUUID(), 'client-request-id': randomUUID() },
    },
  });
}

function aadError(
  res: ServerResponse,
  status: number,
  error: string,
  code: number,
  description: string,
): void {
  sendJson(res, status, {
    error,
    error_description: `AADSTS${code}: ${description} Trace ID: ${randomUUID()} Correlation ID: ${randomUUID()} Timestamp: ${new Date().toISOString()}`,
    error_codes: [code],
    timestamp: new Date().toISOString(),
    trace_id: randomUUID(),
    correlation_id: randomUUID(),
    error_uri: 'https://login.microsoftonline.com/error?code=' + code,
  });
}

export async function startFakeAzure(options: { port?: number } = {}): Promise<FakeAzure> {
  const ca = testCa();
  const tenants = new Map<string, Map<string, FakeApp>>();
  const tokens = new Map<
    string,
    { tenant: string; clientId: string; audience: string; expiresAt: number }
  >();
  const domains = new Map<string, string>();
  /** Graph's view of each app, by `<tenant>/<clientId>`: its password credentials, its object id. */
  const credentials = new Map<string, FakePasswordCredential[]>();
  const objectIds = new Map<string, string>();
  const state = {
    issuedTokens: [] as string[],
    receivedSecrets: [] as string[],
    tokenRequests: [] as TokenRequest[],
    armRequests: [] as string[],
    graphRequests: [] as string[],
    graphFailures: 0,
    graphHangs: 0,
    graphDenied: false,
    tokenFailures: 0,
    tokenHangs: 0,
    armFailures: 0,
    pageSize: 2,
  };
  let base = '';

  function openidConfiguration(req: FakeRequest, res: ServerResponse, tenant: string): void {
    if (!tenants.has(tenant)) {
      aadError(res, 400, 'invalid_tenant', 90002, `Tenant '${tenant}' not found.`);
      return;
    }
    const root = `${base}/${tenant}`;
    sendJson(res, 200, {
      token_endpoint: `${root}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: [
        'client_secret_post',
        'private_key_jwt',
        'client_secret_basic',
      ],
      jwks_uri: `${base}/${tenant}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${base}/${tenant}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${base}/oidc/userinfo`,
      authorization_endpoint: `${root}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${root}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${root}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat'],
      kerberos_endpoint: `${root}/kerberos`,
      tenant_region_scope: 'EU',
      cloud_instance_name: new URL(base).host,
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
      rbac_url: 'https://pas.windows.net',
    });
    void req;
  }

  function token(req: FakeRequest, res: ServerResponse, tenant: string): void {
    const p = req.params;
    if (p.client_secret) state.receivedSecrets.push(p.client_secret);
    state.tokenRequests.push({
      tenant,
      clientId: p.client_id,
      scope: p.scope,
      claims: p.claims,
    });
    if (state.tokenHangs > 0) {
      state.tokenHangs--;
      return;
    }
    if (state.tokenFailures > 0) {
      state.tokenFailures--;
      sendJson(res, 503, {
        error: 'temporarily_unavailable',
        error_description: 'AADSTS90033: busy',
      });
      return;
    }
    const apps = tenants.get(tenant);
    if (!apps) {
      aadError(res, 400, 'invalid_request', 90002, `Tenant '${tenant}' not found.`);
      return;
    }
    if (p.grant_type !== 'client_credentials') {
      aadError(
        res,
        400,
        'unsupported_grant_type',
        70003,
        'The app requested an unsupported grant type.',
      );
      return;
    }
    const app = apps.get(p.client_id);
    if (!app) {
      aadError(res, 400, 'unauthorized_client', 700016,
        `Application with identifier '${p.client_id}' was not found in the directory '${tenant}'.`); // prettier-ignore
      return;
    }
    if (p.client_secret !== app.secret) {
      aadError(res, 401, 'invalid_client', 7000215, 'Invalid client secret provided.');
      return;
    }
    if (app.secretExpired) {
      aadError(res, 401, 'invalid_client', 7000222, 'The provided client secret keys are expired.');
      return;
    }
    const audience = AUDIENCES[p.scope];
    if (!audience) {
      aadError(
        res,
        400,
        'invalid_scope',
        1002012,
        `The provided value for scope ${p.scope} is not valid.`,
      );
      return;
    }
    const accessToken = `azat.${randomBytes(24).toString('hex')}`;
    tokens.set(accessToken, {
      tenant,
      clientId: app.clientId,
      audience,
      expiresAt: Date.now() + 3599_000,
    });
    state.issuedTokens.push(accessToken);
    sendJson(res, 200, {
      token_type: 'Bearer',
      expires_in: 3599,
      ext_expires_in: 3599,
      access_token: accessToken,
    });
  }

  function subscriptions(req: FakeRequest, res: ServerResponse): void {
    state.armRequests.push(req.url.pathname + req.url.search);
    if (state.armFailures > 0) {
      state.armFailures--;
      sendJson(res, 503, { error: { code: 'ServiceUnavailable', message: 'try later' } });
      return;
    }
    const presented = bearer(req);
    const grant = presented ? tokens.get(presented) : undefined;
    if (!grant || grant.expiresAt < Date.now() || grant.audience !== AUDIENCES[ARM_SCOPE]) {
      sendJson(res, 401, {
        error: { code: 'InvalidAuthenticationToken', message: 'The access token is invalid.' },
      });
      return;
    }
    if (!req.url.searchParams.get('api-version')) {
      sendJson(res, 400, {
        error: { code: 'MissingApiVersionParameter', message: "The api-version query parameter (?api-version=) is required for all requests." }, // prettier-ignore
      });
      return;
    }
    const app = tenants.get(grant.tenant)?.get(grant.clientId);
    const all = app?.subscriptions ?? [];
    const skip = Number(req.url.searchParams.get('$skiptoken') ?? '0');
    const page = all.slice(skip, skip + state.pageSize);
    const next = skip + state.pageSize;
    sendJson(res, 200, {
      value: page.map((s) => ({
        id: `/subscriptions/${s.subscriptionId}`,
        authorizationSource: 'RoleBased',
        managedByTenants: [],
        subscriptionId: s.subscriptionId,
        tenantId: grant.tenant,
        displayName: s.displayName,
        state: s.state,
        subscriptionPolicies: { locationPlacementId: 'Public_2014-09-01', quotaId: 'PayAsYouGo_2014-09-01', spendingLimit: 'Off' }, // prettier-ignore
      })),
      ...(next < all.length
        ? { nextLink: `${base}/subscriptions?api-version=2016-06-01&$skiptoken=${next}` }
        : {}),
    });
  }

  /** `GET /v1.0/applications(appId='…')`: any application of the caller's tenant (Application.Read.All). */
  function application(req: FakeRequest, res: ServerResponse, appId: string): void {
    state.graphRequests.push(req.url.pathname + req.url.search);
    if (state.graphHangs > 0) {
      state.graphHangs--;
      return;
    }
    if (state.graphFailures > 0) {
      state.graphFailures--;
      graphError(res, 503, 'serviceNotAvailable', 'The service is temporarily unavailable.');
      return;
    }
    const presented = bearer(req);
    const grant = presented ? tokens.get(presented) : undefined;
    if (!grant || grant.expiresAt < Date.now()) {
      graphError(res, 401, 'InvalidAuthenticationToken', 'Access token has expired or is not yet valid.'); // prettier-ignore
      return;
    }
    if (grant.audience !== AUDIENCES[GRAPH_SCOPE]) {
      graphError(res, 401, 'InvalidAuthenticationToken', 'Access token validation failure. Invalid audience.'); // prettier-ignore
      return;
    }
    const caller = tenants.get(grant.tenant)?.get(grant.clientId);
    if (state.graphDenied || caller?.graphDenied) {
      graphError(res, 403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'); // prettier-ignore
      return;
    }
    const app = tenants.get(grant.tenant)?.get(appId);
    const owned = credentials.get(`${grant.tenant}/${appId}`);
    if (!app || !owned) {
      graphError(res, 404, 'Request_ResourceNotFound', `Resource '${appId}' does not exist or one of its queried reference-property objects are not present.`); // prettier-ignore
      return;
    }
    sendJson(res, 200, {
      '@odata.context': `${base}/v1.0/$metadata#applications(id,appId,passwordCredentials)/$entity`,
      id: objectIds.get(`${grant.tenant}/${appId}`),
      appId,
      passwordCredentials: owned.map((c) => ({
        customKeyIdentifier: null,
        displayName: c.displayName ?? null,
        endDateTime: c.endDateTime,
        hint: c.hint,
        keyId: c.keyId,
        secretText: null,
        startDateTime: c.startDateTime ?? new Date(Date.now() - 86_400_000).toISOString(),
      })),
    });
  }

  const server = await startFakeServer(
    async (req, res) => {
      const parts = req.url.pathname.split('/').filter(Boolean);
      if (req.method === 'GET' && parts[0] === 'subscriptions' && parts.length === 1) {
        subscriptions(req, res);
        return;
      }
      const graphApp = /^\/v1\.0\/applications\(appId='([^']+)'\)$/.exec(
        decodeURIComponent(req.url.pathname),
      );
      if (req.method === 'GET' && graphApp) {
        application(req, res, graphApp[1]);
        return;
      }
      const [named, ...rest] = parts;
      // Entra ID accepts a tenant's verified domain wherever its id goes.
      const tenant = domains.get(named?.toLowerCase() ?? '') ?? named;
      const path = rest.join('/');
      if (
        req.method === 'GET' &&
        (path === 'v2.0/.well-known/openid-configuration' ||
          path === '.well-known/openid-configuration')
      ) {
        openidConfiguration(req, res, tenant);
        return;
      }
      if (req.method === 'POST' && path === 'oauth2/v2.0/token') {
        token(req, res, tenant);
        return;
      }
      sendJson(res, 404, {
        error: 'not_found',
        error_description: `no route ${req.method} ${req.url.pathname}`,
      });
    },
    ca,
    options.port,
  );
  base = server.url;

  return {
    url: server.url,
    ca,
    env: () => ({
      AZURE_AUTHORITY_HOST: server.url,
      AZURE_ARM_ENDPOINT: server.url,
      AZURE_GRAPH_ENDPOINT: server.url,
      NODE_EXTRA_CA_CERTS: ca.extraCaCerts,
    }),
    seen: server.seen,
    addTenant: (tenantId) => void tenants.set(tenantId, tenants.get(tenantId) ?? new Map()),
    addDomain: (domain, tenantId) => void domains.set(domain.toLowerCase(), tenantId),
    addApp: (tenantId, app) => {
      if (!tenants.has(tenantId)) tenants.set(tenantId, new Map());
      tenants.get(tenantId)?.set(app.clientId, app);
      const end = app.secretExpiresAt ?? new Date(Date.now() + 365 * 86_400_000);
      credentials.set(
        `${tenantId}/${app.clientId}`,
        app.passwordCredentials ?? [
          { keyId: randomUUID(), hint: app.secret.slice(0, 3), displayName: 'broker', endDateTime: end.toISOString() }, // prettier-ignore
        ],
      );
      objectIds.set(`${tenantId}/${app.clientId}`, randomUUID());
    },
    passwordCredentials: (tenantId, clientId) => {
      const list = credentials.get(`${tenantId}/${clientId}`);
      if (!list) throw new Error(`no app ${clientId} in ${tenantId}`);
      return list;
    },
    get issuedTokens() {
      return state.issuedTokens;
    },
    get receivedSecrets() {
      return state.receivedSecrets;
    },
    get tokenRequests() {
      return state.tokenRequests;
    },
    get armRequests() {
      return state.armRequests;
    },
    get graphRequests() {
      return state.graphRequests;
    },
    failGraph: (n) => void (state.graphFailures = n),
    hangGraph: (n) => void (state.graphHangs = n),
    denyGraph: (on) => void (state.graphDenied = on),
    failTokens: (n) => void (state.tokenFailures = n),
    hangTokens: (n) => void (state.tokenHangs = n),
    failArm: (n) => void (state.armFailures = n),
    get pageSize() {
      return state.pageSize;
    },
    set pageSize(n: number) {
      state.pageSize = n;
    },
    close: () => server.close(),
  };
}
