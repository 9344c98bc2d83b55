import { isIP } from 'node:net';
import { z } from 'zod';
import { isPublishedSecret, urlPassword } from './published-secrets';

/**
 * The environment contract (SPEC §7). Every variable the broker reads is named here and nowhere
 * else; `loadConfig` is the only reader of `process.env`.
 */

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const httpUrl = z
  .string()
  .url('must be an absolute URL')
  .refine((v) => /^https?:\/\//.test(v), 'must be an http(s) URL')
  .transform((v) => v.replace(/\/+$/, ''));

const list = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0),
);

const nonEmpty = z.string().min(1, 'must not be empty');

function isAddressOrCidr(entry: string): boolean {
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/** Hops (a whole number) or a comma-separated list of addresses and CIDRs; `false` means none. */
const trustProxy = z
  .string()
  .refine(
    (v) =>
      v === 'false' ||
      /^\d{1,2}$/.test(v) ||
      v
        .split(',')
        .map((s) => s.trim())
        .every(isAddressOrCidr),
    'must be a number of hops (e.g. 1) or a comma-separated list of IP addresses and CIDRs',
  )
  .transform((v): number | string[] | false => {
    if (v === 'false' || v === '0') return false;
    if (/^\d+$/.test(v)) return Number(v);
    return v.split(',').map((s) => s.trim());
  });

/**
 * The read-write service account's default roles (docs/providers/gcp.md says why each): what the
 * read-only account reads, plus writes on what the default GCP_REQUIRED_APIS serve to callers —
 * Compute Engine instances and BigQuery data — instead of `roles/editor`'s write on everything
 * (which includes acting as any service account of the project).
 */
export const GCP_DEFAULT_SA_ROLES_RW = [
  'roles/viewer',
  'roles/compute.instanceAdmin.v1',
  'roles/bigquery.dataEditor',
  'roles/bigquery.jobUser',
  'roles/serviceusage.serviceUsageConsumer',
] as const;

/** Names of variables that may also be read from `<NAME>_FILE`. */
export const SECRET_VARIABLES = [
  'DATABASE_URL',
  'REDIS_URL',
  'VAULT_TOKEN',
  'VAULT_ROLE_ID',
  'VAULT_SECRET_ID',
  'LOCAL_SECRET_KEY',
  'AUTH_JWT_SECRET',
  'ADMIN_PASSWORD_HASH',
  'METRICS_TOKEN',
  'WEBHOOK_SECRET',
  'GCP_CLIENT_SECRET',
  'OVH_EU_CLIENT_SECRET',
  'OVH_CA_CLIENT_SECRET',
  'OVH_US_CLIENT_SECRET',
  'LOGIN_GITHUB_CLIENT_SECRET',
  'LOGIN_ENTRA_CLIENT_SECRET',
  'LOGIN_OIDC_CLIENT_SECRET',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
] as const;

export const VAULT_AUTH_METHODS = ['token', 'approle', 'kubernetes'] as const;
export type VaultAuthMethod = (typeof VAULT_AUTH_METHODS)[number];

/** VAULT_AUTH_METHOD, else inferred: AppRole credentials, then a Kubernetes role, then a token. */
export function vaultAuthMethod(env: Record<string, unknown>): VaultAuthMethod {
  const given = env.VAULT_AUTH_METHOD;
  if (typeof given === 'string' && (VAULT_AUTH_METHODS as readonly string[]).includes(given)) {
    return given as VaultAuthMethod;
  }
  const has = (name: string) => typeof env[name] === 'string' && env[name] !== '';
  if (has('VAULT_ROLE_ID') && has('VAULT_SECRET_ID')) return 'approle';
  if (has('VAULT_K8S_ROLE')) return 'kubernetes';
  return 'token';
}

export const LOGIN_PROVIDER_KINDS = ['github', 'entra', 'oidc'] as const;

export const envSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).prefault('development'),
    PORT: int(1, 65535).prefault('3000'),
    WORKER_HEALTH_PORT: int(1, 65535).prefault('3001'),
    HOST: z.string().min(1).prefault('0.0.0.0'),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .prefault('info'),
    PUBLIC_URL: httpUrl,
    /** Unset: the broker's own connect page, `PUBLIC_URL/connect` (SPEC §10). */
    FRONTEND_URL: httpUrl.optional(),
    DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// connection URL'),
    MIGRATIONS_RUN: bool.prefault('false'),
    /** Unset: a default per process (see `defaultPoolMax`). */
    DATABASE_POOL_MAX: int(1, 1000).optional(),
    REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL'),
    REDIS_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9:_-]{1,64}$/)
      .prefault('cbk'),
    BODY_LIMIT_BYTES: int(1024, 10 * 1024 * 1024).prefault('65536'),
    SHUTDOWN_TIMEOUT_SECONDS: int(1, 600).prefault('25'),
    /** Whose X-Forwarded-* is believed. Unset: nobody's, the socket address is the client. */
    TRUST_PROXY: trustProxy.optional(),
    /**
     * Read by the Google and Azure SDKs themselves, not by us: their debug output prints request
     * and response bodies (tokens, client secrets). Named here so production can refuse them.
     */
    GOOGLE_SDK_NODE_LOGGING: z.string().optional(),
    AZURE_LOG_LEVEL: z.string().optional(),

    SECRET_STORE: z.enum(['vault', 'local']).optional(),
    VAULT_ADDR: httpUrl.optional(),
    VAULT_TOKEN: nonEmpty.optional(),
    VAULT_ROLE_ID: nonEmpty.optional(),
    VAULT_SECRET_ID: nonEmpty.optional(),
    VAULT_APPROLE_MOUNT: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/)
      .prefault('approle'),
    /** Default: approle with VAULT_ROLE_ID, kubernetes with VAULT_K8S_ROLE, else token. */
    VAULT_AUTH_METHOD: z.enum(VAULT_AUTH_METHODS).optional(),
    /** Kept (besides VAULT_TOKEN read from it) so the session can re-read a rotated token. */
    VAULT_TOKEN_FILE: nonEmpty.optional(),
    VAULT_K8S_ROLE: nonEmpty.optional(),
    VAULT_K8S_MOUNT: z
      .string()
      .regex(/^[A-Za-z0-9_/-]+$/, 'must be a mount path')
      .prefault('kubernetes'),
    VAULT_K8S_TOKEN_FILE: nonEmpty.prefault('/var/run/secrets/kubernetes.io/serviceaccount/token'),
    VAULT_NAMESPACE: nonEmpty.optional(),
    VAULT_KV_MOUNT: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, 'must be a mount name')
      .prefault('secret'),
    VAULT_PATH_PREFIX: z
      .string()
      .regex(
        /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/,
        'must be a path like a/b, without slashes at the ends',
      )
      .prefault('credential-broker'),
    VAULT_CA_CERT: nonEmpty.optional(),
    VAULT_TIMEOUT_MS: int(100, 120_000).prefault('5000'),
    LOCAL_SECRET_KEY: z
      .string()
      .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be 32 bytes, base64-encoded')
      .optional(),

    AUTH_JWKS_URL: httpUrl.optional(),
    AUTH_ISSUER: nonEmpty.optional(),
    AUTH_AUDIENCE: nonEmpty.optional(),
    AUTH_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    ADMIN_USER: nonEmpty.optional(),
    ADMIN_PASSWORD_HASH: z
      .string()
      .regex(/^(\$argon2(id|i|d)\$|\$2[aby]\$)/, 'must be an argon2 or bcrypt hash')
      .optional(),
    METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),

    /** Unset: webhooks are off (the boot log says so). Kept as written: a path may end in `/`. */
    WEBHOOK_URL: z
      .string()
      .url('must be an absolute URL')
      .refine((v) => /^https?:\/\//.test(v), 'must be an http(s) URL')
      .optional(),
    /** A Standard Webhooks secret: `whsec_` and the base64 of at least 24 random bytes. */
    WEBHOOK_SECRET: z
      .string()
      .regex(
        /^whsec_[A-Za-z0-9+/]{32,}={0,2}$/,
        'must be a Standard Webhooks secret: whsec_ followed by base64 of 24 or more random bytes',
      )
      .optional(),
    WEBHOOK_RETRY_BASE_SECONDS: int(1, 86_400).prefault('30'),
    /** The total retry window; 24 h (SPEC §14). Tests shorten it. */
    WEBHOOK_RETRY_WINDOW_SECONDS: int(1, 7 * 86_400).prefault('86400'),
    WEBHOOK_TIMEOUT_MS: int(100, 120_000).prefault('10000'),

    STATE_TTL_SECONDS: int(30, 3600).prefault('600'),
    CLAIM_TTL_SECONDS: int(2, 3600).prefault('300'),
    REFRESH_WINDOW_SECONDS: int(0, 86_400).prefault('300'),
    REFRESH_INTERVAL_SECONDS: int(1, 3600).prefault('30'),
    REFRESH_CONCURRENCY: int(1, 1000).prefault('10'),
    RATE_LIMIT_LOGIN_PER_MINUTE: int(1, 100_000).prefault('20'),
    AUTH_FAILURE_LIMIT_PER_MINUTE: int(1, 1_000_000).prefault('60'),

    GCP_CLIENT_ID: nonEmpty.optional(),
    GCP_CLIENT_SECRET: nonEmpty.optional(),
    GCP_AUTH_URL: httpUrl.prefault('https://accounts.google.com/o/oauth2/v2/auth'),
    GCP_TOKEN_URL: httpUrl.prefault('https://oauth2.googleapis.com/token'),
    GCP_REVOKE_URL: httpUrl.prefault('https://oauth2.googleapis.com/revoke'),
    GCP_USERINFO_URL: httpUrl.prefault('https://openidconnect.googleapis.com/v1/userinfo'),
    GCP_API_ROOT_URL: httpUrl.optional(),
    GCP_CLOUDRESOURCEMANAGER_ROOT_URL: httpUrl.optional(),
    GCP_CLOUDBILLING_ROOT_URL: httpUrl.optional(),
    GCP_SERVICEUSAGE_ROOT_URL: httpUrl.optional(),
    GCP_IAM_ROOT_URL: httpUrl.optional(),
    GCP_IAMCREDENTIALS_ROOT_URL: httpUrl.optional(),
    GCP_BIGQUERY_ROOT_URL: httpUrl.optional(),
    GCP_EXTRA_SCOPES: list.prefault(''),
    GCP_REQUIRED_APIS: list.prefault(
      'cloudresourcemanager.googleapis.com,serviceusage.googleapis.com,iam.googleapis.com,iamcredentials.googleapis.com,cloudbilling.googleapis.com,compute.googleapis.com,bigquery.googleapis.com',
    ),
    GCP_SETUP_MAX_PROJECTS: int(1, 1000).prefault('5'),
    GCP_ROOT_PROJECT: nonEmpty.optional(),
    GCP_SA_ROLES_RW: list.prefault(GCP_DEFAULT_SA_ROLES_RW.join(',')),
    GCP_SA_ROLES_RO: list.prefault('roles/viewer'),
    GCP_SETUP_OPERATION_TIMEOUT_SECONDS: int(1, 3600).prefault('300'),
    GCP_SETUP_POLL_MS: int(10, 60_000).prefault('2000'),
    GCP_SETUP_PROPAGATION_TIMEOUT_SECONDS: int(1, 3600).prefault('120'),
    GCP_SETUP_RETRY_BASE_MS: int(10, 60_000).prefault('1000'),

    SETUP_CONCURRENCY: int(1, 100).prefault('2'),
    SETUP_JOB_ATTEMPTS: int(1, 100).prefault('5'),
    SETUP_JOB_BACKOFF_MS: int(10, 3_600_000).prefault('10000'),
    SETUP_JOB_LOCK_MS: int(1000, 3_600_000).prefault('30000'),
    SETUP_JOB_STALLED_INTERVAL_MS: int(500, 3_600_000).prefault('30000'),
    SETUP_JOB_MAX_STALLED: int(0, 100).prefault('2'),
    /** How often the worker renews what setup made (a Tailscale auth key near its expiry). */
    SETUP_MAINTENANCE_INTERVAL_SECONDS: int(1, 86_400).prefault('3600'),

    AZURE_AUTHORITY_HOST: httpUrl.prefault('https://login.microsoftonline.com'),
    AZURE_ARM_ENDPOINT: httpUrl.prefault('https://management.azure.com'),
    AZURE_ARM_SCOPE: nonEmpty.prefault('https://management.azure.com/.default'),
    /** Microsoft Graph, where the broker reads when a principal's client secret expires. */
    AZURE_GRAPH_ENDPOINT: httpUrl.prefault('https://graph.microsoft.com'),
    AZURE_GRAPH_SCOPE: nonEmpty.prefault('https://graph.microsoft.com/.default'),

    TAILSCALE_API_URL: httpUrl.prefault('https://api.tailscale.com'),
    TAILSCALE_TAG: z
      .string()
      .regex(/^tag:[A-Za-z0-9-]+$/, 'must look like tag:name')
      .prefault('tag:broker'),

    OVH_EU_CLIENT_ID: nonEmpty.optional(),
    OVH_EU_CLIENT_SECRET: nonEmpty.optional(),
    OVH_EU_AUTH_URL: httpUrl.prefault('https://www.ovh.com/auth/oauth2'),
    OVH_EU_API_URL: httpUrl.prefault('https://eu.api.ovh.com/1.0'),
    OVH_CA_CLIENT_ID: nonEmpty.optional(),
    OVH_CA_CLIENT_SECRET: nonEmpty.optional(),
    OVH_CA_AUTH_URL: httpUrl.prefault('https://ca.ovh.com/auth/oauth2'),
    OVH_CA_API_URL: httpUrl.prefault('https://ca.api.ovh.com/1.0'),
    OVH_US_CLIENT_ID: nonEmpty.optional(),
    OVH_US_CLIENT_SECRET: nonEmpty.optional(),
    OVH_US_AUTH_URL: httpUrl.prefault('https://us.ovhcloud.com/auth/oauth2'),
    OVH_US_API_URL: httpUrl.prefault('https://api.us.ovhcloud.com/1.0'),

    // AWS (SPEC §13). The broker's own identity is the SDK's default chain, which reads
    // AWS_ACCESS_KEY_ID & co. itself; they are named here to decide enablement, to take the keys
    // from *_FILE, and so that production can refuse published values.
    AWS_ENABLED: bool.optional(),
    AWS_REGION: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'must be an AWS region such as us-east-1')
      .prefault('us-east-1'),
    AWS_STS_ENDPOINT: httpUrl.optional(),
    AWS_BROKER_PRINCIPAL_ARN: z
      .string()
      .regex(
        /^arn:aws[a-z-]*:(iam|sts)::\d{12}:[A-Za-z0-9+=,.@_/-]+$/,
        'must be an IAM or STS ARN such as arn:aws:iam::123456789012:role/broker',
      )
      .optional(),
    AWS_ACCESS_KEY_ID: z
      .string()
      .regex(/^[A-Z0-9]{16,128}$/, 'must be an AWS access key id')
      .optional(),
    AWS_SECRET_ACCESS_KEY: nonEmpty.optional(),
    AWS_SESSION_TOKEN: nonEmpty.optional(),
    AWS_ROLE_ARN: nonEmpty.optional(),
    AWS_WEB_IDENTITY_TOKEN_FILE: nonEmpty.optional(),
    AWS_PROFILE: nonEmpty.optional(),

    // Sign-in for people (SPEC §9): off while LOGIN_PROVIDERS is unset.
    LOGIN_PROVIDERS: list
      .pipe(z.array(z.enum(LOGIN_PROVIDER_KINDS, 'must list github, entra and/or oidc')))
      .refine((v) => new Set(v).size === v.length, 'must not name a provider twice')
      .optional(),
    LOGIN_GITHUB_CLIENT_ID: nonEmpty.optional(),
    LOGIN_GITHUB_CLIENT_SECRET: nonEmpty.optional(),
    LOGIN_GITHUB_URL: httpUrl.prefault('https://github.com'),
    LOGIN_GITHUB_API_URL: httpUrl.prefault('https://api.github.com'),
    LOGIN_ENTRA_TENANT_ID: z
      .string()
      .regex(/^[A-Za-z0-9.-]{1,253}$/, 'must be a tenant id (GUID) or a verified domain')
      .optional(),
    LOGIN_ENTRA_CLIENT_ID: nonEmpty.optional(),
    LOGIN_ENTRA_CLIENT_SECRET: nonEmpty.optional(),
    LOGIN_ENTRA_AUTHORITY: httpUrl.prefault('https://login.microsoftonline.com'),
    LOGIN_OIDC_ISSUER: httpUrl.optional(),
    LOGIN_OIDC_CLIENT_ID: nonEmpty.optional(),
    LOGIN_OIDC_CLIENT_SECRET: nonEmpty.optional(),
    LOGIN_OIDC_SCOPES: z
      .string()
      .transform((v) => v.split(/[\s,]+/).filter((s) => s.length > 0))
      .pipe(
        z
          .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'must be OAuth scope names'))
          .refine((v) => v.includes('openid'), 'must include openid'),
      )
      .prefault('openid email profile'),
    /** Emails or GitHub logins, compared case-insensitively. */
    LOGIN_ALLOWED_USERS: list.prefault(''),
    /** Domains of verified emails. */
    LOGIN_ALLOWED_DOMAINS: list.prefault(''),
    LOGIN_ALLOW_ANY: bool.prefault('false'),
    /** Emails or logins of signed-in people who may open /admin/*. */
    ADMIN_USERS: list.prefault(''),
    SESSION_IDLE_SECONDS: int(60, 30 * 86_400).prefault('3600'),

    // The broker's own authorization server (SPEC §11).
    OAUTH_ACCESS_TOKEN_TTL_SECONDS: int(60, 86_400).prefault('900'),
    OAUTH_REFRESH_TOKEN_TTL_SECONDS: int(300, 365 * 86_400).prefault(String(30 * 86_400)),
    OAUTH_DEVICE_CODE_TTL_SECONDS: int(60, 3600).prefault('600'),
    SESSION_TTL_SECONDS: int(60, 90 * 86_400).prefault('28800'),
  })
  .strip();

type Raw = Record<string, string | undefined>;

/**
 * Rules across variables. They read the raw strings, so they are reported together with the
 * per-variable problems even when those make the schema fail.
 */
export function crossFieldProblems(env: Raw): string[] {
  const problems: string[] = [];
  const has = (name: string) => env[name] !== undefined && env[name] !== '';
  const store = env.SECRET_STORE ?? (has('VAULT_ADDR') ? 'vault' : 'local');
  if (store === 'vault') {
    if (!has('VAULT_ADDR')) problems.push('VAULT_ADDR is required when the secret store is vault');
    problems.push(...vaultAuthProblems(env, has));
  } else if (store === 'local') {
    if (env.NODE_ENV === 'production') {
      problems.push(
        'SECRET_STORE local is refused when NODE_ENV=production; set VAULT_ADDR and use Vault',
      );
    }
    if (!has('LOCAL_SECRET_KEY')) {
      problems.push(
        'LOCAL_SECRET_KEY is required when the secret store is local (32 random bytes, base64)',
      );
    }
  }
  if (env.NODE_ENV === 'production') problems.push(...productionProblems(env, has));
  if (!has('AUTH_JWKS_URL') && !has('AUTH_JWT_SECRET') && !has('LOGIN_PROVIDERS')) {
    problems.push(
      'AUTH_JWKS_URL or AUTH_JWT_SECRET is required (or LOGIN_PROVIDERS for sign-in): the broker must be able to tell who its users are',
    );
  }
  problems.push(...loginProblems(env, has));
  const pairs: [string, string][] = [
    ['ADMIN_USER', 'ADMIN_PASSWORD_HASH'],
    ['GCP_CLIENT_ID', 'GCP_CLIENT_SECRET'],
    ['OVH_EU_CLIENT_ID', 'OVH_EU_CLIENT_SECRET'],
    ['OVH_CA_CLIENT_ID', 'OVH_CA_CLIENT_SECRET'],
    ['OVH_US_CLIENT_ID', 'OVH_US_CLIENT_SECRET'],
    ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'],
    ['AWS_ROLE_ARN', 'AWS_WEB_IDENTITY_TOKEN_FILE'],
    ['WEBHOOK_URL', 'WEBHOOK_SECRET'],
  ];
  for (const [a, b] of pairs) {
    if (has(a) !== has(b)) {
      problems.push(
        `${has(a) ? b : a} is required: ${a} and ${b} go together (set both, or neither)`,
      );
    }
  }
  return problems;
}

/** Sign-in (SPEC §9): each named provider complete, an allow-list said, sane session times. */
function loginProblems(env: Raw, has: (name: string) => boolean): string[] {
  if (!has('LOGIN_PROVIDERS')) return [];
  const problems: string[] = [];
  const kinds = (env.LOGIN_PROVIDERS ?? '').split(',').map((s) => s.trim());
  const needs: Record<(typeof LOGIN_PROVIDER_KINDS)[number], string[]> = {
    github: ['LOGIN_GITHUB_CLIENT_ID', 'LOGIN_GITHUB_CLIENT_SECRET'],
    entra: ['LOGIN_ENTRA_TENANT_ID', 'LOGIN_ENTRA_CLIENT_ID', 'LOGIN_ENTRA_CLIENT_SECRET'],
    oidc: ['LOGIN_OIDC_ISSUER', 'LOGIN_OIDC_CLIENT_ID', 'LOGIN_OIDC_CLIENT_SECRET'],
  };
  for (const kind of LOGIN_PROVIDER_KINDS) {
    if (!kinds.includes(kind)) continue;
    for (const name of needs[kind]) {
      if (!has(name)) problems.push(`${name} is required when LOGIN_PROVIDERS includes ${kind}`);
    }
  }
  if (
    ['common', 'organizations', 'consumers'].includes(
      (env.LOGIN_ENTRA_TENANT_ID ?? '').toLowerCase(),
    )
  ) {
    problems.push(
      'LOGIN_ENTRA_TENANT_ID must name one tenant (its GUID or domain), not common/organizations/consumers: only tokens of the configured tenant count as verified',
    );
  }
  const allowAny = ['true', '1', 'yes'].includes(env.LOGIN_ALLOW_ANY ?? '');
  if (!has('LOGIN_ALLOWED_USERS') && !has('LOGIN_ALLOWED_DOMAINS') && !allowAny) {
    problems.push(
      'LOGIN_ALLOWED_USERS or LOGIN_ALLOWED_DOMAINS is required when LOGIN_PROVIDERS is set (or LOGIN_ALLOW_ANY=true to let every account of the identity providers sign in)',
    );
  }
  const idle = Number(env.SESSION_IDLE_SECONDS ?? 3600);
  const ttl = Number(env.SESSION_TTL_SECONDS ?? 28800);
  if (idle > ttl) problems.push('SESSION_IDLE_SECONDS must not exceed SESSION_TTL_SECONDS');
  if (env.NODE_ENV === 'production' && (env.PUBLIC_URL ?? '').startsWith('http://')) {
    problems.push(
      'PUBLIC_URL must be https when LOGIN_PROVIDERS is set and NODE_ENV=production: the session cookie is Secure',
    );
  }
  return problems;
}

function vaultAuthProblems(env: Raw, has: (name: string) => boolean): string[] {
  const method = env.VAULT_AUTH_METHOD;
  if (method === undefined || method === '') {
    return has('VAULT_TOKEN') ||
      (has('VAULT_ROLE_ID') && has('VAULT_SECRET_ID')) ||
      has('VAULT_K8S_ROLE')
      ? []
      : [
          'VAULT_TOKEN is required (or VAULT_ROLE_ID and VAULT_SECRET_ID for AppRole, or VAULT_K8S_ROLE for Kubernetes auth) when the secret store is vault',
        ];
  }
  const missing = (names: string[]) => names.filter((n) => !has(n));
  const need: Record<string, string[]> = {
    token: ['VAULT_TOKEN'],
    approle: ['VAULT_ROLE_ID', 'VAULT_SECRET_ID'],
    kubernetes: ['VAULT_K8S_ROLE'],
  };
  const names = need[method];
  if (!names) return []; // the schema reports a VAULT_AUTH_METHOD it does not know
  const absent = missing(names);
  return absent.length === 0
    ? []
    : [
        `${absent.join(' and ')} ${absent.length > 1 ? 'are' : 'is'} required when VAULT_AUTH_METHOD=${method}`,
      ];
}

/** What `NODE_ENV=production` refuses on top of the rules for every environment. */
function productionProblems(env: Raw, has: (name: string) => boolean): string[] {
  const problems: string[] = [];
  // A key set shared by many apps of one IdP must not let their tokens in (SPEC §3).
  if (has('AUTH_JWKS_URL')) {
    const missing = ['AUTH_ISSUER', 'AUTH_AUDIENCE'].filter((name) => !has(name));
    if (missing.length > 0) {
      problems.push(
        `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} required when AUTH_JWKS_URL is set and NODE_ENV=production`,
      );
    }
  }
  for (const name of SECRET_VARIABLES) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    const secret = name === 'DATABASE_URL' || name === 'REDIS_URL' ? urlPassword(value) : value;
    if (secret !== undefined && isPublishedSecret(secret)) {
      problems.push(
        `${name} is a development value published in this repository (docker-compose.yml, .env.example); set a secret of your own when NODE_ENV=production`,
      );
    }
  }
  for (const name of ['GOOGLE_SDK_NODE_LOGGING', 'AZURE_LOG_LEVEL']) {
    if (has(name)) {
      problems.push(
        `${name} is refused when NODE_ENV=production: the SDK's debug output prints tokens and client secrets`,
      );
    }
  }
  return problems;
}

export type Env = z.infer<typeof envSchema>;
