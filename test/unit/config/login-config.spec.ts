import { describeLogin, loadConfig } from '../../../src/config/config';
import { configRefusals } from '../../support/test-config';

const KEY = Buffer.alloc(32, 7).toString('base64');

function env(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    PUBLIC_URL: 'https://broker.example.com',
    DATABASE_URL: 'postgres://u@localhost/db',
    REDIS_URL: 'redis://localhost:6379',
    LOCAL_SECRET_KEY: KEY,
    AUTH_JWT_SECRET: 'x'.repeat(32),
    ...extra,
  };
}

const GITHUB = {
  LOGIN_PROVIDERS: 'github',
  LOGIN_GITHUB_CLIENT_ID: 'Iv1.abc',
  LOGIN_GITHUB_CLIENT_SECRET: 'github-secret',
  LOGIN_ALLOWED_USERS: 'Alice@Example.com,octocat',
};

const problemsOf = configRefusals;

describe('sign-in configuration (SPEC §9)', () => {
  it('is off without LOGIN_PROVIDERS, and FRONTEND_URL defaults to the connect page', () => {
    const config = loadConfig(env());
    expect(config.login.enabled).toBe(false);
    expect(config.frontendUrl).toBe('https://broker.example.com/connect');
    expect(describeLogin(config)).toEqual(['sign-in: disabled (LOGIN_PROVIDERS not set)']);
  });

  it('reads a GitHub sign-in with its defaults, lower-casing the allow-list', () => {
    const config = loadConfig(env({ ...GITHUB, LOGIN_ALLOWED_DOMAINS: '@Example.org' }));
    expect(config.login).toMatchObject({
      enabled: true,
      providers: [
        {
          kind: 'github',
          url: 'https://github.com',
          apiUrl: 'https://api.github.com',
          clientId: 'Iv1.abc',
        },
      ],
      allowedUsers: ['alice@example.com', 'octocat'],
      allowedDomains: ['example.org'],
      allowAny: false,
      sessionIdleSeconds: 3600,
      sessionTtlSeconds: 28800,
      secureCookie: true,
    });
    expect(describeLogin(config).join('\n')).toContain('__Host-cbk_session');
  });

  it('refuses sign-in with no allow-list, naming the variables', () => {
    const problems = problemsOf(env({ ...GITHUB, LOGIN_ALLOWED_USERS: undefined }));
    expect(problems.join('\n')).toMatch(/LOGIN_ALLOWED_USERS or LOGIN_ALLOWED_DOMAINS is required/);
    expect(problems.join('\n')).toMatch(/LOGIN_ALLOW_ANY=true/);
  });

  it('lets anyone in only when LOGIN_ALLOW_ANY=true is said', () => {
    const config = loadConfig(
      env({ ...GITHUB, LOGIN_ALLOWED_USERS: undefined, LOGIN_ALLOW_ANY: 'true' }),
    );
    expect(config.login.allowAny).toBe(true);
    expect(describeLogin(config)[0]).toContain('LOGIN_ALLOW_ANY=true');
  });

  it('names each missing variable of every listed provider', () => {
    const problems = problemsOf(
      env({ LOGIN_PROVIDERS: 'github,entra,oidc', LOGIN_ALLOW_ANY: 'true' }),
    );
    for (const name of [
      'LOGIN_GITHUB_CLIENT_ID',
      'LOGIN_GITHUB_CLIENT_SECRET',
      'LOGIN_ENTRA_TENANT_ID',
      'LOGIN_ENTRA_CLIENT_ID',
      'LOGIN_ENTRA_CLIENT_SECRET',
      'LOGIN_OIDC_ISSUER',
      'LOGIN_OIDC_CLIENT_ID',
      'LOGIN_OIDC_CLIENT_SECRET',
    ]) {
      expect(problems).toContain(
        `${name} is required when LOGIN_PROVIDERS includes ${name.split('_')[1].toLowerCase()}`,
      );
    }
  });

  it('refuses an unknown provider and a repeated one', () => {
    expect(
      problemsOf(env({ LOGIN_PROVIDERS: 'gitlab', LOGIN_ALLOW_ANY: 'true' })).join('\n'),
    ).toMatch(/LOGIN_PROVIDERS/);
    expect(problemsOf(env({ ...GITHUB, LOGIN_PROVIDERS: 'github,github' })).join('\n')).toMatch(
      /LOGIN_PROVIDERS must not name a provider twice/,
    );
  });

  it('builds the Entra issuer from authority and tenant, and OIDC scopes must include openid', () => {
    const config = loadConfig(
      env({
        LOGIN_PROVIDERS: 'entra,oidc',
        LOGIN_ENTRA_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47',
        LOGIN_ENTRA_CLIENT_ID: 'entra-client',
        LOGIN_ENTRA_CLIENT_SECRET: 'entra-secret',
        LOGIN_OIDC_ISSUER: 'https://idp.example.com/realms/x/',
        LOGIN_OIDC_CLIENT_ID: 'oidc-client',
        LOGIN_OIDC_CLIENT_SECRET: 'oidc-secret',
        LOGIN_ALLOWED_DOMAINS: 'example.com',
      }),
    );
    expect(config.login.providers).toEqual([
      expect.objectContaining({ kind: 'entra', authority: 'https://login.microsoftonline.com' }),
      expect.objectContaining({
        kind: 'oidc',
        issuer: 'https://idp.example.com/realms/x',
        scopes: ['openid', 'email', 'profile'],
      }),
    ]);
    expect(
      problemsOf(
        env({
          LOGIN_PROVIDERS: 'oidc',
          LOGIN_OIDC_ISSUER: 'https://idp.example.com',
          LOGIN_OIDC_CLIENT_ID: 'c',
          LOGIN_OIDC_CLIENT_SECRET: 's',
          LOGIN_OIDC_SCOPES: 'email profile',
          LOGIN_ALLOW_ANY: 'true',
        }),
      ).join('\n'),
    ).toMatch(/LOGIN_OIDC_SCOPES must include openid/);
  });

  it('uses a plain cookie on http PUBLIC_URL and says so; refuses that in production', () => {
    const dev = loadConfig(env({ ...GITHUB, PUBLIC_URL: 'http://localhost:3000' }));
    expect(dev.login.secureCookie).toBe(false);
    expect(describeLogin(dev)[1]).toMatch(/plain http.*development only/);
    const problems = problemsOf(
      env({
        ...GITHUB,
        NODE_ENV: 'production',
        PUBLIC_URL: 'http://broker.internal',
        VAULT_ADDR: 'https://vault.internal',
        VAULT_TOKEN: 'hvs.production-token-value',
      }),
    );
    expect(problems.join('\n')).toMatch(/PUBLIC_URL must be https when LOGIN_PROVIDERS is set/);
  });

  it('needs no AUTH_* verifier when people sign in, and keeps idle within the absolute limit', () => {
    expect(loadConfig(env({ ...GITHUB, AUTH_JWT_SECRET: undefined })).login.enabled).toBe(true);
    expect(
      problemsOf(env({ ...GITHUB, SESSION_IDLE_SECONDS: '7200', SESSION_TTL_SECONDS: '3600' })),
    ).toContain('SESSION_IDLE_SECONDS must not exceed SESSION_TTL_SECONDS');
  });

  it('reads the client secrets from _FILE like every secret', () => {
    const problems = problemsOf(
      env({
        ...GITHUB,
        LOGIN_GITHUB_CLIENT_SECRET: undefined,
        LOGIN_GITHUB_CLIENT_SECRET_FILE: '/nonexistent/secret',
      }),
    );
    expect(problems.join('\n')).toMatch(/LOGIN_GITHUB_CLIENT_SECRET_FILE: cannot read/);
  });
});
