import { describeProxy, loadConfig } from '../../../src/config/config';
import { configProblems } from '../../support/test-config';

/** A production environment that passes: Vault, a JWKS with issuer and audience. */
function production(
  extra: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  return {
    NODE_ENV: 'production',
    PUBLIC_URL: 'https://broker.example.com',
    FRONTEND_URL: 'https://app.example.com',
    DATABASE_URL: 'postgres://broker:a-real-password@db.internal/broker',
    REDIS_URL: 'redis://redis.internal:6379',
    VAULT_ADDR: 'https://vault.internal:8200',
    VAULT_TOKEN: 'hvs.a-token-of-our-own',
    AUTH_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json',
    AUTH_ISSUER: 'https://idp.example.com',
    AUTH_AUDIENCE: 'credential-broker',
    ...extra,
  };
}

const problemsOf = configProblems;

describe('production refusals', () => {
  it('accepts a production setup of its own', () => {
    expect(problemsOf(production())).toEqual([]);
  });

  it('requires AUTH_ISSUER and AUTH_AUDIENCE with a JWKS, naming them', () => {
    expect(problemsOf(production({ AUTH_ISSUER: undefined, AUTH_AUDIENCE: undefined }))).toEqual([
      expect.stringMatching(/^AUTH_ISSUER and AUTH_AUDIENCE are required when AUTH_JWKS_URL/),
    ]);
    expect(problemsOf(production({ AUTH_AUDIENCE: undefined }))).toEqual([
      expect.stringMatching(/^AUTH_AUDIENCE is required/),
    ]);
    // Outside production, and with HS256 only, they stay optional.
    expect(
      problemsOf(
        production({ NODE_ENV: 'development', AUTH_ISSUER: undefined, AUTH_AUDIENCE: undefined }),
      ),
    ).toEqual([]);
  });

  it('refuses the development secrets published in this repository', () => {
    const published = {
      AUTH_JWT_SECRET: 'dev-only-insecure-jwt-secret-do-not-use-in-production',
      DATABASE_URL: 'postgres://broker:broker@postgres:5432/broker',
    };
    const problems = problemsOf(production(published));
    expect(problems).toEqual([
      expect.stringMatching(/^DATABASE_URL is a development value published in this repository/),
      expect.stringMatching(/^AUTH_JWT_SECRET is a development value published in this repository/),
    ]);
    // Never the value itself in the message.
    expect(problems.join('\n')).not.toContain('dev-only-insecure');
    expect(problemsOf(production({ ...published, NODE_ENV: 'development' }))).toEqual([]);
  });

  it('refuses the .env.example placeholders', () => {
    expect(
      problemsOf(
        production({
          AUTH_JWT_SECRET: 'change-me-paste-the-output-of-openssl-rand-hex-32',
          DATABASE_URL:
            'postgres://broker:change-me-paste-the-output-of-openssl-rand-hex-16@postgres:5432/broker',
        }),
      ),
    ).toHaveLength(2);
  });

  it.each(['GOOGLE_SDK_NODE_LOGGING', 'AZURE_LOG_LEVEL'])(
    'refuses %s, whose SDK debug output prints secrets',
    (name) => {
      expect(
        problemsOf(production({ [name]: name === 'AZURE_LOG_LEVEL' ? 'verbose' : 'all' })),
      ).toEqual([
        expect.stringMatching(new RegExp(`^${name} is refused when NODE_ENV=production`)),
      ]);
      expect(problemsOf(production({ NODE_ENV: 'development', [name]: 'info' }))).toEqual([]);
    },
  );
});

describe('TRUST_PROXY and DATABASE_POOL_MAX', () => {
  it('trusts no proxy unless told', () => {
    expect(loadConfig(production()).trustProxy).toBe(false);
    expect(loadConfig(production({ TRUST_PROXY: '1' })).trustProxy).toBe(1);
    expect(loadConfig(production({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' })).trustProxy).toEqual([
      '10.0.0.0/8',
      '127.0.0.1',
    ]);
    expect(problemsOf(production({ TRUST_PROXY: 'true' }))).toEqual([
      expect.stringMatching(/^TRUST_PROXY must be a number of hops/),
    ]);
    expect(problemsOf(production({ TRUST_PROXY: '10.0.0.0/33' }))).toHaveLength(1);
  });

  it('says at boot whose address is the client, and what an unset TRUST_PROXY costs', () => {
    expect(describeProxy(loadConfig(production()))).toMatch(
      /^client address: the socket peer \(TRUST_PROXY unset\)\. Behind a proxy or ingress set TRUST_PROXY/,
    );
    expect(describeProxy(loadConfig(production({ TRUST_PROXY: '1' })))).toBe(
      'client address: from X-Forwarded-For, believing 1 proxy hop(s) (TRUST_PROXY)',
    );
    expect(describeProxy(loadConfig(production({ TRUST_PROXY: '10.0.0.0/8,127.0.0.1' })))).toBe(
      'client address: from X-Forwarded-For when sent by 10.0.0.0/8, 127.0.0.1 (TRUST_PROXY)',
    );
  });

  it('takes DATABASE_POOL_MAX when given, else leaves the default to the process', () => {
    expect(loadConfig(production()).database.poolMax).toBeUndefined();
    expect(loadConfig(production({ DATABASE_POOL_MAX: '25' })).database.poolMax).toBe(25);
    expect(problemsOf(production({ DATABASE_POOL_MAX: '0' }))).toHaveLength(1);
  });
});

describe('database pool defaults', () => {
  it('sizes the worker pool from its concurrency and keeps the api at 10', async () => {
    const { defaultPoolMax } = await import('../../../src/database/data-source');
    expect(defaultPoolMax('api', { refresh: 10, setup: 2 })).toBe(10);
    expect(defaultPoolMax('worker', { refresh: 10, setup: 2 })).toBe(44);
    expect(defaultPoolMax('worker', { refresh: 1, setup: 1 })).toBe(7);
  });
});
