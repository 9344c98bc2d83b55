import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeProviders, loadConfig, requireVariable } from '../../../src/config/config';
import { configRefusals } from '../../support/test-config';

const KEY = Buffer.alloc(32, 7).toString('base64');

function base(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    PUBLIC_URL: 'https://broker.example.com/',
    FRONTEND_URL: 'https://app.example.com',
    DATABASE_URL: 'postgres://u@localhost/db',
    REDIS_URL: 'redis://localhost:6379',
    LOCAL_SECRET_KEY: KEY,
    AUTH_JWT_SECRET: 'x'.repeat(32),
    ...extra,
  };
}

const problemsOf = configRefusals;

describe('loadConfig', () => {
  it('accepts a minimal local setup and fills the defaults of SPEC §7', () => {
    const config = loadConfig(base());
    expect(config.publicUrl).toBe('https://broker.example.com');
    expect(config.secretStore).toMatchObject({ kind: 'local', pathPrefix: 'credential-broker' });
    expect(config.lifecycle).toEqual({
      stateTtlSeconds: 600,
      claimTtlSeconds: 300,
      refreshWindowSeconds: 300,
      refreshIntervalSeconds: 30,
      refreshConcurrency: 10,
    });
    expect(config.gcp.enabled).toBe(false);
    expect(config.gcp.userinfoUrl).toBe('https://openidconnect.googleapis.com/v1/userinfo');
    expect(config.gcp.setupMaxProjects).toBe(5);
    expect(config.azure.armScope).toBe('https://management.azure.com/.default');
    expect(config.tailscale.tag).toBe('tag:broker');
    expect(config.ovh.enabled).toBe(false);
  });

  it('names every missing required variable at once', () => {
    const problems = problemsOf({});
    for (const name of [
      'PUBLIC_URL',
      'DATABASE_URL',
      'REDIS_URL',
      'LOCAL_SECRET_KEY',
      'AUTH_JWKS_URL',
    ]) {
      expect(problems.some((p) => p.startsWith(name))).toBe(true);
    }
  });

  it('names malformed values with the reason', () => {
    const problems = problemsOf(
      base({
        PORT: 'eighty',
        PUBLIC_URL: 'not a url',
        REFRESH_WINDOW_SECONDS: '-1',
        LOCAL_SECRET_KEY: 'c2hvcnQ=',
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'PORT must be a whole number',
        'PUBLIC_URL must be an absolute URL',
        'REFRESH_WINDOW_SECONDS must be a whole number',
        'LOCAL_SECRET_KEY must be 32 bytes, base64-encoded',
      ]),
    );
  });

  it('uses Vault whenever VAULT_ADDR is set, and needs a token or an AppRole', () => {
    expect(problemsOf(base({ VAULT_ADDR: 'http://vault:8200' }))).toEqual([
      expect.stringContaining('VAULT_TOKEN is required (or VAULT_ROLE_ID and VAULT_SECRET_ID'),
    ]);
    const viaRole = loadConfig(
      base({ VAULT_ADDR: 'http://vault:8200', VAULT_ROLE_ID: 'r', VAULT_SECRET_ID: 's' }),
    );
    expect(viaRole.secretStore).toMatchObject({
      kind: 'vault',
      appRole: { roleId: 'r', secretId: 's', mount: 'approle' },
    });
  });

  it('refuses the local store in production', () => {
    expect(problemsOf(base({ NODE_ENV: 'production' }))).toEqual([
      expect.stringContaining('SECRET_STORE local is refused when NODE_ENV=production'),
    ]);
  });

  it('reads secrets from NAME_FILE and rejects setting both', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cbk-config-'));
    const file = join(dir, 'secret');
    writeFileSync(file, `${'s'.repeat(40)}\n`);
    const config = loadConfig(base({ AUTH_JWT_SECRET: undefined, AUTH_JWT_SECRET_FILE: file }));
    expect(config.auth.jwtSecret).toBe('s'.repeat(40));
    expect(problemsOf(base({ AUTH_JWT_SECRET_FILE: file }))).toEqual([
      'AUTH_JWT_SECRET and AUTH_JWT_SECRET_FILE are both set; set only one',
    ]);
    expect(
      problemsOf(base({ AUTH_JWT_SECRET: undefined, AUTH_JWT_SECRET_FILE: join(dir, 'missing') })),
    ).toEqual([
      expect.stringMatching(/^AUTH_JWT_SECRET_FILE: cannot read .*missing \(ENOENT\)$/),
      expect.stringContaining('AUTH_JWKS_URL or AUTH_JWT_SECRET is required'),
    ]);
    expect(requireVariable('DATABASE_URL', { DATABASE_URL_FILE: file })).toBe('s'.repeat(40));
    expect(() => requireVariable('DATABASE_URL', {})).toThrow('DATABASE_URL is required');
  });

  it('enables a provider only when both of its credentials are present', () => {
    expect(problemsOf(base({ GCP_CLIENT_ID: 'id' }))).toEqual([
      expect.stringContaining('GCP_CLIENT_SECRET'),
    ]);
    const config = loadConfig(
      base({
        GCP_CLIENT_ID: 'id',
        GCP_CLIENT_SECRET: 'secret',
        OVH_CA_CLIENT_ID: 'o',
        OVH_CA_CLIENT_SECRET: 'p',
      }),
    );
    expect(config.gcp.enabled).toBe(true);
    expect(config.ovh.regions.ca.enabled).toBe(true);
    expect(config.ovh.regions.eu.enabled).toBe(false);
    expect(describeProviders(config)).toContain('ovh: enabled for ca');
    expect(describeProviders(loadConfig(base()))).toContain(
      'gcp: disabled (GCP_CLIENT_ID/GCP_CLIENT_SECRET not set)',
    );
  });

  it('routes every Google API through GCP_API_ROOT_URL unless one is overridden', () => {
    const config = loadConfig(
      base({
        GCP_API_ROOT_URL: 'http://127.0.0.1:9000',
        GCP_SERVICEUSAGE_ROOT_URL: 'http://127.0.0.1:9001/',
        GCP_BIGQUERY_ROOT_URL: 'http://127.0.0.1:9002',
      }),
    );
    expect(config.gcp.apiRootUrls).toEqual({
      cloudresourcemanager: 'http://127.0.0.1:9000',
      cloudbilling: 'http://127.0.0.1:9000',
      serviceusage: 'http://127.0.0.1:9001',
      iam: 'http://127.0.0.1:9000',
      iamcredentials: 'http://127.0.0.1:9000',
      bigquery: 'http://127.0.0.1:9002',
    });
  });

  it('grants the read-write account narrower roles than roles/editor by default', () => {
    const gcp = loadConfig(base()).gcp;
    expect(gcp.saRolesRw).toEqual([
      'roles/viewer',
      'roles/compute.instanceAdmin.v1',
      'roles/bigquery.dataEditor',
      'roles/bigquery.jobUser',
      'roles/serviceusage.serviceUsageConsumer',
    ]);
    expect(gcp.saRolesRw).not.toContain('roles/editor');
    expect(gcp.saRolesRo).toEqual(['roles/viewer']);
    // billing_exports lists BigQuery datasets: setup switches the API on with the others.
    expect(gcp.requiredApis).toContain('bigquery.googleapis.com');
    expect(loadConfig(base({ GCP_SA_ROLES_RW: 'roles/editor' })).gcp.saRolesRw).toEqual([
      'roles/editor',
    ]);
  });

  it('splits comma-separated lists', () => {
    const config = loadConfig(
      base({ GCP_EXTRA_SCOPES: ' a, b,,c ', GCP_SA_ROLES_RO: 'roles/viewer,roles/browser' }),
    );
    expect(config.gcp.extraScopes).toEqual(['a', 'b', 'c']);
    expect(config.gcp.saRolesRo).toEqual(['roles/viewer', 'roles/browser']);
  });

  it('never echoes a secret value in its messages', () => {
    const problems = problemsOf(
      base({ AUTH_JWT_SECRET: 'short-secret-value', ADMIN_PASSWORD_HASH: 'plaintext-pass' }),
    );
    const text = problems.join('\n');
    expect(text).toContain('AUTH_JWT_SECRET must be at least 32 characters');
    expect(text).not.toContain('short-secret-value');
    expect(text).not.toContain('plaintext-pass');
  });
});
