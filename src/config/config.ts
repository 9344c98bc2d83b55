import { readFileSync } from 'node:fs';
import { type z } from 'zod';
import { isMissing, safeIssueMessage } from '../common/zod-issues';
import {
  type LOGIN_PROVIDER_KINDS,
  SECRET_VARIABLES,
  crossFieldProblems,
  envSchema,
  type Env,
  vaultAuthMethod,
} from './env.schema';

export type SecretStoreKind = 'vault' | 'local';
export type OvhRegion = 'eu' | 'ca' | 'us';
export const OVH_REGIONS: readonly OvhRegion[] = ['eu', 'ca', 'us'];

export interface OAuthClientConfig {
  clientId: string;
  clientSecret: string;
}

export type LoginProviderKind = (typeof LOGIN_PROVIDER_KINDS)[number];

/** One identity provider people sign in with (SPEC §9). */
export type LoginProviderConfig =
  | ({ kind: 'github'; url: string; apiUrl: string } & OAuthClientConfig)
  | ({ kind: 'entra'; authority: string; tenantId: string } & OAuthClientConfig)
  | ({ kind: 'oidc'; issuer: string; scopes: string[] } & OAuthClientConfig);

export interface LoginConfig {
  enabled: boolean;
  /** In the order of LOGIN_PROVIDERS. */
  providers: LoginProviderConfig[];
  /** Lower-cased emails and logins. */
  allowedUsers: string[];
  /** Lower-cased domains, matched against verified emails only. */
  allowedDomains: string[];
  allowAny: boolean;
  /** Lower-cased emails and logins. */
  adminUsers: string[];
  sessionIdleSeconds: number;
  sessionTtlSeconds: number;
  /** Secure `__Host-` cookie unless PUBLIC_URL is plain http (development). */
  secureCookie: boolean;
}

/** The typed, nested view of the environment that the rest of the code receives. */
export interface AppConfig {
  env: Env['NODE_ENV'];
  port: number;
  workerHealthPort: number;
  host: string;
  logLevel: Env['LOG_LEVEL'];
  publicUrl: string;
  frontendUrl: string;
  bodyLimitBytes: number;
  shutdownTimeoutSeconds: number;
  /** `poolMax` undefined: the process picks its default (`defaultPoolMax`). */
  database: { url: string; migrationsRun: boolean; poolMax?: number };
  /** Fastify's `trustProxy`: hops, addresses/CIDRs, or false (the socket address is the client). */
  trustProxy: number | string[] | false;
  redis: { url: string; prefix: string };
  secretStore:
    | {
        kind: 'vault';
        addr: string;
        /** Exactly one of token, appRole, kubernetes is set (VAULT_AUTH_METHOD). */
        token?: string;
        /** VAULT_TOKEN_FILE, re-read by the session when it changes. */
        tokenFile?: string;
        appRole?: { roleId: string; secretId: string; mount: string };
        kubernetes?: { role: string; mount: string; jwtFile: string };
        namespace?: string;
        kvMount: string;
        pathPrefix: string;
        caCert?: string;
        timeoutMs: number;
      }
    | { kind: 'local'; key: Buffer; pathPrefix: string };
  auth: {
    jwksUrl?: string;
    issuer?: string;
    audience?: string;
    jwtSecret?: string;
    admin?: { user: string; passwordHash: string };
  };
  metricsToken?: string;
  /** Signed webhooks (SPEC §14); off without WEBHOOK_URL. */
  webhooks: WebhooksConfig;
  login: LoginConfig;
  /** The broker's own authorization server (SPEC §11). */
  oauth: {
    accessTokenTtlSeconds: number;
    refreshTokenTtlSeconds: number;
    deviceCodeTtlSeconds: number;
  };
  lifecycle: {
    stateTtlSeconds: number;
    /** How long a consent waits for its user's claim (SPEC §5) before it is revoked. */
    claimTtlSeconds: number;
    refreshWindowSeconds: number;
    refreshIntervalSeconds: number;
    refreshConcurrency: number;
  };
  rateLimit: {
    loginPerMinute: number;
    /** Failed authentications per client address and minute before it gets 429 (SPEC §6). */
    authFailuresPerMinute: number;
  };
  gcp: {
    enabled: boolean;
    client?: OAuthClientConfig;
    authUrl: string;
    tokenUrl: string;
    revokeUrl: string;
    userinfoUrl: string;
    apiRootUrls: {
      cloudresourcemanager?: string;
      cloudbilling?: string;
      serviceusage?: string;
      iam?: string;
      iamcredentials?: string;
      bigquery?: string;
    };
    extraScopes: string[];
    requiredApis: string[];
    setupMaxProjects: number;
    rootProject?: string;
    saRolesRw: string[];
    saRolesRo: string[];
    setup: {
      operationTimeoutMs: number;
      pollMs: number;
      propagationTimeoutMs: number;
      retryBaseMs: number;
    };
  };
  /** The BullMQ `setup` queue: retries, and how fast a dead worker's job is taken over. */
  setupJobs: {
    concurrency: number;
    attempts: number;
    backoffMs: number;
    lockMs: number;
    stalledIntervalMs: number;
    maxStalled: number;
  };
  /** The worker's upkeep of what setup made (SPEC §14). */
  setupMaintenance: { intervalSeconds: number };
  azure: {
    enabled: boolean;
    authorityHost: string;
    armEndpoint: string;
    armScope: string;
    graphEndpoint: string;
    graphScope: string;
  };
  tailscale: { enabled: boolean; apiUrl: string; tag: string };
  aws: AwsConfig;
  ovh: {
    enabled: boolean;
    regions: Record<
      OvhRegion,
      { enabled: boolean; client?: OAuthClientConfig; authUrl: string; apiUrl: string }
    >;
  };
}

/** The broker's own AWS identity and where STS is (SPEC §13). */
export interface AwsConfig {
  enabled: boolean;
  /** Why AWS is on or off, and where the broker's own credentials come from (the boot log). */
  identity: string;
  region: string;
  stsEndpoint?: string;
  /** Else the broker asks STS GetCallerIdentity (once). */
  brokerPrincipalArn?: string;
  /**
   * Keys the configuration holds (AWS_ACCESS_KEY_ID with AWS_SECRET_ACCESS_KEY, either of which
   * may have come from a *_FILE): given to the SDK as they are. Absent: the SDK's default chain.
   */
  keys?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type RawEnv = Record<string, string | undefined>;

/** Resolves `NAME_FILE` for secret variables: the file's content (trailing newline trimmed) wins. */
function resolveFiles(raw: RawEnv, problems: string[]): RawEnv {
  const out: RawEnv = { ...raw };
  for (const name of SECRET_VARIABLES) {
    const file = raw[`${name}_FILE`];
    if (file === undefined || file === '') continue;
    if (raw[name] !== undefined && raw[name] !== '') {
      problems.push(`${name} and ${name}_FILE are both set; set only one`);
      continue;
    }
    try {
      out[name] = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code ?? 'unreadable';
      problems.push(`${name}_FILE: cannot read ${file} (${reason})`);
    }
  }
  // An empty value means "unset": compose files and k8s manifests often render absent values as "".
  for (const [k, v] of Object.entries(out)) if (v === '') delete out[k];
  return out;
}

function describe(issue: z.core.$ZodIssue, input: unknown): string {
  const name = issue.path.join('.') || '(environment)';
  if (isMissing(issue, input)) return `${name} is required`;
  return `${name} ${safeIssueMessage(issue, input)}`;
}

export function loadConfig(raw: RawEnv = process.env): AppConfig {
  const problems: string[] = [];
  const resolved = resolveFiles(raw, problems);
  const parsed = envSchema.safeParse(resolved);
  if (!parsed.success)
    problems.push(...parsed.error.issues.map((issue) => describe(issue, resolved)));
  problems.push(...crossFieldProblems(resolved));
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  return toAppConfig(parsed.data);
}

function client(id?: string, secret?: string): OAuthClientConfig | undefined {
  return id && secret ? { clientId: id, clientSecret: secret } : undefined;
}

/** VAULT_AUTH_METHOD, or the one the credentials given imply (see `vaultAuthMethod`). */
function vaultAuth(e: Env): Pick<VaultConfig, 'token' | 'tokenFile' | 'appRole' | 'kubernetes'> {
  switch (vaultAuthMethod(e)) {
    case 'approle':
      return {
        appRole: {
          roleId: e.VAULT_ROLE_ID as string,
          secretId: e.VAULT_SECRET_ID as string,
          mount: e.VAULT_APPROLE_MOUNT,
        },
      };
    case 'kubernetes':
      return {
        kubernetes: {
          role: e.VAULT_K8S_ROLE as string,
          mount: e.VAULT_K8S_MOUNT,
          jwtFile: e.VAULT_K8S_TOKEN_FILE,
        },
      };
    case 'token':
      return { token: e.VAULT_TOKEN, tokenFile: e.VAULT_TOKEN_FILE };
  }
}

type VaultConfig = Extract<AppConfig['secretStore'], { kind: 'vault' }>;

function toAppConfig(e: Env): AppConfig {
  const kind: SecretStoreKind = e.SECRET_STORE ?? (e.VAULT_ADDR ? 'vault' : 'local');
  const gcpClient = client(e.GCP_CLIENT_ID, e.GCP_CLIENT_SECRET);
  const root = e.GCP_API_ROOT_URL;
  const ovhRegion = (id?: string, secret?: string, authUrl = '', apiUrl = '') => {
    const c = client(id, secret);
    return { enabled: c !== undefined, client: c, authUrl, apiUrl };
  };
  const regions = {
    eu: ovhRegion(e.OVH_EU_CLIENT_ID, e.OVH_EU_CLIENT_SECRET, e.OVH_EU_AUTH_URL, e.OVH_EU_API_URL),
    ca: ovhRegion(e.OVH_CA_CLIENT_ID, e.OVH_CA_CLIENT_SECRET, e.OVH_CA_AUTH_URL, e.OVH_CA_API_URL),
    us: ovhRegion(e.OVH_US_CLIENT_ID, e.OVH_US_CLIENT_SECRET, e.OVH_US_AUTH_URL, e.OVH_US_API_URL),
  };
  return {
    env: e.NODE_ENV,
    port: e.PORT,
    workerHealthPort: e.WORKER_HEALTH_PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    publicUrl: e.PUBLIC_URL,
    frontendUrl: e.FRONTEND_URL ?? `${e.PUBLIC_URL}/connect`,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    shutdownTimeoutSeconds: e.SHUTDOWN_TIMEOUT_SECONDS,
    database: {
      url: e.DATABASE_URL,
      migrationsRun: e.MIGRATIONS_RUN,
      poolMax: e.DATABASE_POOL_MAX,
    },
    trustProxy: e.TRUST_PROXY ?? false,
    redis: { url: e.REDIS_URL, prefix: e.REDIS_PREFIX },
    secretStore:
      kind === 'vault'
        ? {
            kind: 'vault',
            addr: e.VAULT_ADDR as string,
            ...vaultAuth(e),
            namespace: e.VAULT_NAMESPACE,
            kvMount: e.VAULT_KV_MOUNT,
            pathPrefix: e.VAULT_PATH_PREFIX,
            caCert: e.VAULT_CA_CERT,
            timeoutMs: e.VAULT_TIMEOUT_MS,
          }
        : {
            kind: 'local',
            key: Buffer.from(e.LOCAL_SECRET_KEY as string, 'base64'),
            pathPrefix: e.VAULT_PATH_PREFIX,
          },
    auth: {
      jwksUrl: e.AUTH_JWKS_URL,
      issuer: e.AUTH_ISSUER,
      audience: e.AUTH_AUDIENCE,
      jwtSecret: e.AUTH_JWT_SECRET,
      admin:
        e.ADMIN_USER && e.ADMIN_PASSWORD_HASH
          ? { user: e.ADMIN_USER, passwordHash: e.ADMIN_PASSWORD_HASH }
          : undefined,
    },
    metricsToken: e.METRICS_TOKEN,
    webhooks: webhooksConfig(e),
    login: loginConfig(e),
    oauth: {
      accessTokenTtlSeconds: e.OAUTH_ACCESS_TOKEN_TTL_SECONDS,
      refreshTokenTtlSeconds: e.OAUTH_REFRESH_TOKEN_TTL_SECONDS,
      deviceCodeTtlSeconds: e.OAUTH_DEVICE_CODE_TTL_SECONDS,
    },
    lifecycle: {
      stateTtlSeconds: e.STATE_TTL_SECONDS,
      claimTtlSeconds: e.CLAIM_TTL_SECONDS,
      refreshWindowSeconds: e.REFRESH_WINDOW_SECONDS,
      refreshIntervalSeconds: e.REFRESH_INTERVAL_SECONDS,
      refreshConcurrency: e.REFRESH_CONCURRENCY,
    },
    rateLimit: {
      loginPerMinute: e.RATE_LIMIT_LOGIN_PER_MINUTE,
      authFailuresPerMinute: e.AUTH_FAILURE_LIMIT_PER_MINUTE,
    },
    gcp: {
      enabled: gcpClient !== undefined,
      client: gcpClient,
      authUrl: e.GCP_AUTH_URL,
      tokenUrl: e.GCP_TOKEN_URL,
      revokeUrl: e.GCP_REVOKE_URL,
      userinfoUrl: e.GCP_USERINFO_URL,
      apiRootUrls: {
        cloudresourcemanager: e.GCP_CLOUDRESOURCEMANAGER_ROOT_URL ?? root,
        cloudbilling: e.GCP_CLOUDBILLING_ROOT_URL ?? root,
        serviceusage: e.GCP_SERVICEUSAGE_ROOT_URL ?? root,
        iam: e.GCP_IAM_ROOT_URL ?? root,
        iamcredentials: e.GCP_IAMCREDENTIALS_ROOT_URL ?? root,
        bigquery: e.GCP_BIGQUERY_ROOT_URL ?? root,
      },
      extraScopes: e.GCP_EXTRA_SCOPES,
      requiredApis: e.GCP_REQUIRED_APIS,
      setupMaxProjects: e.GCP_SETUP_MAX_PROJECTS,
      rootProject: e.GCP_ROOT_PROJECT,
      saRolesRw: e.GCP_SA_ROLES_RW,
      saRolesRo: e.GCP_SA_ROLES_RO,
      setup: {
        operationTimeoutMs: e.GCP_SETUP_OPERATION_TIMEOUT_SECONDS * 1000,
        pollMs: e.GCP_SETUP_POLL_MS,
        propagationTimeoutMs: e.GCP_SETUP_PROPAGATION_TIMEOUT_SECONDS * 1000,
        retryBaseMs: e.GCP_SETUP_RETRY_BASE_MS,
      },
    },
    setupJobs: {
      concurrency: e.SETUP_CONCURRENCY,
      attempts: e.SETUP_JOB_ATTEMPTS,
      backoffMs: e.SETUP_JOB_BACKOFF_MS,
      lockMs: e.SETUP_JOB_LOCK_MS,
      stalledIntervalMs: e.SETUP_JOB_STALLED_INTERVAL_MS,
      maxStalled: e.SETUP_JOB_MAX_STALLED,
    },
    setupMaintenance: { intervalSeconds: e.SETUP_MAINTENANCE_INTERVAL_SECONDS },
    // Azure and Tailscale credentials are the user's own (sent to /azure/login, /tailscale/connect):
    // the broker needs nothing of its own to offer them.
    azure: {
      enabled: true,
      authorityHost: e.AZURE_AUTHORITY_HOST,
      armEndpoint: e.AZURE_ARM_ENDPOINT,
      armScope: e.AZURE_ARM_SCOPE,
      graphEndpoint: e.AZURE_GRAPH_ENDPOINT,
      graphScope: e.AZURE_GRAPH_SCOPE,
    },
    tailscale: { enabled: true, apiUrl: e.TAILSCALE_API_URL, tag: e.TAILSCALE_TAG },
    aws: awsConfig(e),
    ovh: { enabled: Object.values(regions).some((r) => r.enabled), regions },
  };
}

/**
 * AWS is on when AWS_ENABLED says so, or (AWS_ENABLED unset) when anything names the broker's
 * AWS identity or STS: AWS_BROKER_PRINCIPAL_ARN, AWS_STS_ENDPOINT, AWS_ACCESS_KEY_ID,
 * AWS_ROLE_ARN with AWS_WEB_IDENTITY_TOKEN_FILE (EKS IRSA), or AWS_PROFILE.
 */
function awsConfig(e: Env): AwsConfig {
  const source = e.AWS_ACCESS_KEY_ID
    ? `access key ${e.AWS_ACCESS_KEY_ID.slice(0, 4)}… (AWS_ACCESS_KEY_ID)`
    : e.AWS_ROLE_ARN && e.AWS_WEB_IDENTITY_TOKEN_FILE
      ? `web identity for ${e.AWS_ROLE_ARN} (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE)`
      : e.AWS_PROFILE
        ? `profile ${e.AWS_PROFILE} (AWS_PROFILE)`
        : 'the SDK default chain (shared config, container or instance credentials)';
  const named = Boolean(
    e.AWS_BROKER_PRINCIPAL_ARN ||
    e.AWS_STS_ENDPOINT ||
    e.AWS_ACCESS_KEY_ID ||
    (e.AWS_ROLE_ARN && e.AWS_WEB_IDENTITY_TOKEN_FILE) ||
    e.AWS_PROFILE,
  );
  const enabled = e.AWS_ENABLED ?? named;
  const identity = enabled
    ? `identity from ${source}`
    : e.AWS_ENABLED === false
      ? 'AWS_ENABLED=false'
      : 'no AWS identity configured (AWS_ENABLED, AWS_BROKER_PRINCIPAL_ARN, AWS_ACCESS_KEY_ID, AWS_ROLE_ARN+AWS_WEB_IDENTITY_TOKEN_FILE or AWS_PROFILE)';
  return {
    enabled,
    identity,
    region: e.AWS_REGION,
    stsEndpoint: e.AWS_STS_ENDPOINT,
    brokerPrincipalArn: e.AWS_BROKER_PRINCIPAL_ARN,
    keys:
      e.AWS_ACCESS_KEY_ID && e.AWS_SECRET_ACCESS_KEY
        ? {
            accessKeyId: e.AWS_ACCESS_KEY_ID,
            secretAccessKey: e.AWS_SECRET_ACCESS_KEY,
            sessionToken: e.AWS_SESSION_TOKEN,
          }
        : undefined,
  };
}

function loginConfig(e: Env): LoginConfig {
  const lower = (values: string[]) => values.map((v) => v.toLowerCase());
  const providers = (e.LOGIN_PROVIDERS ?? []).map((kind): LoginProviderConfig => {
    switch (kind) {
      case 'github':
        return {
          kind,
          url: e.LOGIN_GITHUB_URL,
          apiUrl: e.LOGIN_GITHUB_API_URL,
          clientId: e.LOGIN_GITHUB_CLIENT_ID as string,
          clientSecret: e.LOGIN_GITHUB_CLIENT_SECRET as string,
        };
      case 'entra':
        return {
          kind,
          authority: e.LOGIN_ENTRA_AUTHORITY,
          tenantId: e.LOGIN_ENTRA_TENANT_ID as string,
          clientId: e.LOGIN_ENTRA_CLIENT_ID as string,
          clientSecret: e.LOGIN_ENTRA_CLIENT_SECRET as string,
        };
      case 'oidc':
        return {
          kind,
          issuer: e.LOGIN_OIDC_ISSUER as string,
          scopes: e.LOGIN_OIDC_SCOPES,
          clientId: e.LOGIN_OIDC_CLIENT_ID as string,
          clientSecret: e.LOGIN_OIDC_CLIENT_SECRET as string,
        };
    }
  });
  return {
    enabled: providers.length > 0,
    providers,
    allowedUsers: lower(e.LOGIN_ALLOWED_USERS),
    allowedDomains: lower(e.LOGIN_ALLOWED_DOMAINS).map((d) => d.replace(/^@/, '')),
    allowAny: e.LOGIN_ALLOW_ANY,
    adminUsers: lower(e.ADMIN_USERS),
    sessionIdleSeconds: e.SESSION_IDLE_SECONDS,
    sessionTtlSeconds: e.SESSION_TTL_SECONDS,
    secureCookie: !e.PUBLIC_URL.startsWith('http://'),
  };
}

/** What the boot log says about sign-in, so an operator sees who may get in and how. */
export function describeLogin(config: AppConfig): string[] {
  const login = config.login;
  if (!login.enabled) return ['sign-in: disabled (LOGIN_PROVIDERS not set)'];
  const who = login.allowAny
    ? 'anyone with an account at these identity providers (LOGIN_ALLOW_ANY=true)'
    : [
        login.allowedUsers.length ? `${login.allowedUsers.length} listed user(s)` : '',
        login.allowedDomains.length ? `verified emails of ${login.allowedDomains.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join(' and ');
  return [
    `sign-in: enabled with ${login.providers.map((p) => p.kind).join(', ')}; allowed: ${who}`,
    login.secureCookie
      ? 'sign-in: session cookie __Host-cbk_session (Secure, HttpOnly, SameSite=Lax)'
      : 'sign-in: PUBLIC_URL is plain http, so the session cookie is cbk_session without Secure: for development only',
  ];
}

/** One line per provider for the boot log, so an operator sees at once what is switched off. */
export function describeProviders(config: AppConfig): string[] {
  const ovhRegions = OVH_REGIONS.filter((r) => config.ovh.regions[r].enabled);
  return [
    config.gcp.enabled ? 'gcp: enabled' : 'gcp: disabled (GCP_CLIENT_ID/GCP_CLIENT_SECRET not set)',
    'azure: enabled (callers bring their own service principal)',
    'tailscale: enabled (callers bring their own OAuth client)',
    ovhRegions.length > 0
      ? `ovh: enabled for ${ovhRegions.join(', ')}`
      : 'ovh: disabled (no OVH_{EU,CA,US}_CLIENT_ID/_SECRET set)',
    config.aws.enabled
      ? `aws: enabled, ${config.aws.identity}; STS ${config.aws.stsEndpoint ?? `of ${config.aws.region}`}; principal ${config.aws.brokerPrincipalArn ?? 'from GetCallerIdentity'}`
      : `aws: disabled (${config.aws.identity})`,
  ];
}

export interface WebhooksConfig {
  enabled: boolean;
  url?: string;
  secret?: string;
  retryBaseSeconds: number;
  windowSeconds: number;
  timeoutMs: number;
  /** Deliveries per event, the first included: see {@link webhookAttempts}. */
  attempts: number;
}

/**
 * How many deliveries an event gets: the first at once, then retries after base, 2·base, 4·base…
 * as long as the sum of the waits stays within the window. With the defaults (30 s, 24 h) that is
 * 12 attempts: 11 retries, the last 30 s × (2^11 − 1) = 61 410 s (about 17 h) after the first;
 * a 12th retry would end at 34 h.
 */
export function webhookAttempts(baseSeconds: number, windowSeconds: number): number {
  let retries = 0;
  while (baseSeconds * (2 ** (retries + 1) - 1) <= windowSeconds) retries++;
  return retries + 1;
}

function webhooksConfig(e: Env): WebhooksConfig {
  return {
    enabled: e.WEBHOOK_URL !== undefined,
    url: e.WEBHOOK_URL,
    secret: e.WEBHOOK_SECRET,
    retryBaseSeconds: e.WEBHOOK_RETRY_BASE_SECONDS,
    windowSeconds: e.WEBHOOK_RETRY_WINDOW_SECONDS,
    timeoutMs: e.WEBHOOK_TIMEOUT_MS,
    attempts: webhookAttempts(e.WEBHOOK_RETRY_BASE_SECONDS, e.WEBHOOK_RETRY_WINDOW_SECONDS),
  };
}

/**
 * What the boot log says about who the client is. Unset behind an ingress, every caller has the
 * ingress's address, so the per-address limits (failed bearers, sign-in starts) count them all
 * together: one flood of bad tokens makes everyone wait. Said at boot, where the operator looks.
 */
export function describeProxy(config: AppConfig): string {
  const trust = config.trustProxy;
  if (trust === false) {
    return 'client address: the socket peer (TRUST_PROXY unset). Behind a proxy or ingress set TRUST_PROXY, or every caller shares its address and its rate limits';
  }
  return typeof trust === 'number'
    ? `client address: from X-Forwarded-For, believing ${trust} proxy hop(s) (TRUST_PROXY)`
    : `client address: from X-Forwarded-For when sent by ${trust.join(', ')} (TRUST_PROXY)`;
}

/** What the boot log says about webhooks (the URL's origin only: a path may carry a token). */
export function describeWebhooks(config: AppConfig): string {
  const w = config.webhooks;
  if (!w.enabled || !w.url) return 'webhooks: disabled (WEBHOOK_URL not set)';
  return `webhooks: enabled, to ${new URL(w.url).origin}; ${w.attempts} attempts over at most ${w.windowSeconds}s, the first retry after ${w.retryBaseSeconds}s`;
}

export const APP_CONFIG = Symbol('APP_CONFIG');

/**
 * Reads one variable (or its `_FILE`) for the small commands that need no full configuration,
 * such as `migration:run`. Exits with the variable's name when it is missing.
 */
export function requireVariable(
  name: (typeof SECRET_VARIABLES)[number],
  raw: RawEnv = process.env,
): string {
  const problems: string[] = [];
  const value = resolveFiles(raw, problems)[name];
  if (problems.length > 0) throw new ConfigError(problems);
  if (value === undefined) throw new ConfigError([`${name} is required`]);
  return value;
}
