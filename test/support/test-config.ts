import { type AppConfig, ConfigError, loadConfig } from '../../src/config/config';

/**
 * The smallest environment `loadConfig()` accepts: the local secret store (no Vault address), an
 * HS256 secret for user tokens, and URLs that nothing in a unit test calls.
 */
export const TEST_ENV: Readonly<Record<string, string>> = Object.freeze({
  NODE_ENV: 'test',
  PUBLIC_URL: 'https://broker.example.com',
  FRONTEND_URL: 'https://app.example.com',
  DATABASE_URL: 'postgres://unused@127.0.0.1/unused',
  REDIS_URL: 'redis://127.0.0.1:6379',
  LOCAL_SECRET_KEY: Buffer.alloc(32, 7).toString('base64'),
  AUTH_JWT_SECRET: 's'.repeat(40),
});

/** Values replaced whole by an override, never merged into: lists, buffers, dates. */
type Leaf = readonly unknown[] | Buffer | Date;

/**
 * Any part of a config object. Required nested objects may be given in part; an optional one
 * (`gcp.client`, `auth.admin`, a region's `client`) is given whole or not at all, so the result
 * is never half an object the real config could not hold.
 */
export type DeepPartial<T> = {
  [K in keyof T]?: undefined extends T[K]
    ? T[K]
    : T[K] extends Leaf
      ? T[K]
      : T[K] extends object
        ? DeepPartial<T[K]>
        : T[K];
};

/** `secretStore` is a union (vault | local): it too is given whole. */
export type TestConfigOverrides = DeepPartial<Omit<AppConfig, 'secretStore'>> & {
  secretStore?: AppConfig['secretStore'];
};

/**
 * A real, fully typed `AppConfig`: `loadConfig()` on `TEST_ENV` plus `env` (environment-style, as
 * an operator would set it, so the real parsing and defaults apply; `''` unsets a variable), then
 * `overrides` merged in (typed; a key given as `undefined` becomes undefined).
 *
 *   testConfig({ lifecycle: { refreshWindowSeconds: 300 } })
 *   testConfig({}, { GCP_CLIENT_ID: 'id', GCP_CLIENT_SECRET: 'secret' })
 */
export function testConfig(
  overrides: TestConfigOverrides = {},
  env: Record<string, string | undefined> = {},
): AppConfig {
  const base = loadConfig({ ...TEST_ENV, ...env });
  const { secretStore, ...rest } = overrides;
  const merged = merge(base, rest) as AppConfig;
  return secretStore === undefined ? merged : { ...merged, secretStore };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function merge(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return override;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(override)) out[k] = merge(base[k], v);
  return out;
}

/** What `loadConfig` refuses in `env`, in its own words; [] when the environment loads. */
export function configProblems(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

/** {@link configProblems} for a check that must be refused: an environment that loads throws. */
export function configRefusals(env: Record<string, string | undefined>): string[] {
  const problems = configProblems(env);
  if (problems.length === 0) throw new Error('expected a ConfigError');
  return problems;
}
