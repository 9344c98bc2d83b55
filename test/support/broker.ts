import { type Client } from 'openapi-fetch';
import { createBrokerClient, type paths } from '../../clients/typescript';
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { Redis } from 'ioredis';
import { type DataSource } from 'typeorm';
import { ApiKeysService } from '../../src/auth/api-keys.service';
import { createDataSource } from '../../src/database/data-source';
import { ApiKeyEntity } from '../../src/database/entities';
import { type ApiKeyScope } from '../../src/database/enums';
import { type FakeVault, startFakeVault } from '../fakes/vault/fake-vault';
import { type TestDatabase, createTestDatabase } from './postgres';
import { type RunningProcess, freePort, runBuilt, waitForHttp } from './processes';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const JWT_SECRET = 'test-only-hs256-secret-0123456789abcdef';
export const JWT_ISSUER = 'https://auth.test.example';
export const JWT_AUDIENCE = 'credential-broker';
export const FRONTEND_URL = 'http://frontend.test.example';

/** A type, not an interface, so it stays assignable to `Record<string, string>`. */
export type SecretPlaces = {
  postgres: string;
  redis: string;
  logs: string;
  responses: string;
};

/** Which of `secrets` each place contains; every list empty means nothing leaked. */
export function leaksIn(
  places: SecretPlaces,
  secrets: string[],
): Record<keyof SecretPlaces, string[]> {
  const found = (text: string) => secrets.filter((secret) => text.includes(secret));
  return {
    postgres: found(places.postgres),
    redis: found(places.redis),
    logs: found(places.logs),
    responses: found(places.responses),
  };
}

export const NO_LEAKS = { postgres: [], redis: [], logs: [], responses: [] };

export interface BrokerOptions {
  store?: 'vault' | 'local';
  /** Extra or overriding environment for the api process. */
  env?: Record<string, string>;
}

/**
 * One broker for one test file: its own database (cloned from the migrated template), its own
 * Redis key prefix, its own fake Vault, and the built api running as a child process.
 */
export class BrokerHarness {
  api!: RunningProcess & { url: string };
  url!: string;
  env!: Record<string, string>;
  readonly redisPrefix = `cbk_test_${randomBytes(4).toString('hex')}`;
  private readonly processes: RunningProcess[] = [];
  private constructor(
    readonly db: TestDatabase,
    readonly dataSource: DataSource,
    readonly vault: FakeVault,
  ) {}

  static async start(options: BrokerOptions = {}): Promise<BrokerHarness> {
    const db = await createTestDatabase();
    const dataSource = createDataSource(db.url);
    await dataSource.initialize();
    const vault = await startFakeVault();
    const harness = new BrokerHarness(db, dataSource, vault);
    harness.env = harness.baseEnv(options.store ?? 'vault', options.env ?? {});
    harness.api = await harness.startApi();
    harness.url = harness.api.url;
    return harness;
  }

  private baseEnv(store: 'vault' | 'local', extra: Record<string, string>): Record<string, string> {
    const storeEnv: Record<string, string> =
      store === 'vault'
        ? { VAULT_ADDR: this.vault.url, VAULT_TOKEN: this.vault.rootToken }
        : { SECRET_STORE: 'local', LOCAL_SECRET_KEY: randomBytes(32).toString('base64') };
    return {
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      PUBLIC_URL: 'http://127.0.0.1:0',
      FRONTEND_URL,
      DATABASE_URL: this.db.url,
      REDIS_URL,
      REDIS_PREFIX: this.redisPrefix,
      AUTH_JWT_SECRET: JWT_SECRET,
      AUTH_ISSUER: JWT_ISSUER,
      AUTH_AUDIENCE: JWT_AUDIENCE,
      VAULT_TIMEOUT_MS: '1500',
      ...storeEnv,
      ...extra,
    };
  }

  /** Starts another api process on this broker's database, Redis prefix and Vault. */
  async startApi(extra: Record<string, string> = {}): Promise<RunningProcess & { url: string }> {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const proc = runBuilt('main', { ...this.env, PORT: String(port), PUBLIC_URL: url, ...extra });
    this.processes.push(proc);
    await waitForHttp(`${url}/health/live`, proc);
    return Object.assign(proc, { url });
  }

  async startWorker(extra: Record<string, string> = {}): Promise<RunningProcess & { url: string }> {
    const port = await freePort();
    const proc = runBuilt('worker', { ...this.env, WORKER_HEALTH_PORT: String(port), ...extra });
    this.processes.push(proc);
    const url = `http://127.0.0.1:${port}`;
    await waitForHttp(`${url}/health/live`, proc);
    return Object.assign(proc, { url });
  }

  /** A user JWT as an identity provider would sign it (HS256, the configured issuer/audience). */
  async userToken(
    sub: string,
    claims: { exp?: string | number; iss?: string; aud?: string } = {},
  ): Promise<string> {
    return new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(sub)
      .setIssuer(claims.iss ?? JWT_ISSUER)
      .setAudience(claims.aud ?? JWT_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(claims.exp ?? '10m')
      .sign(new TextEncoder().encode(JWT_SECRET));
  }

  async apiKey(scopes: ApiKeyScope[], name = 'test key'): Promise<string> {
    const service = new ApiKeysService(this.dataSource.getRepository(ApiKeyEntity));
    return (await service.create(name, scopes)).key;
  }

  /** The typed client of clients/typescript, pointed at this broker's api. */
  client(token: string, onBehalfOf?: string): Client<paths> {
    return createBrokerClient({ baseUrl: this.url, token, onBehalfOf });
  }

  async request(
    path: string,
    init: {
      method?: string;
      token?: string;
      body?: unknown;
      headers?: Record<string, string>;
      base?: string;
    } = {},
  ): Promise<{ status: number; headers: Headers; body: unknown; text: string }> {
    const headers: Record<string, string> = { ...init.headers };
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    let payload: string | undefined;
    if (init.body !== undefined) {
      headers['content-type'] ??= 'application/json';
      payload = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
    }
    const res = await fetch(`${init.base ?? this.url}${path}`, {
      method: init.method ?? 'GET',
      headers,
      body: payload,
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON (metrics, HTML)
    }
    return { status: res.status, headers: res.headers, body, text };
  }

  /** Every row of every table as text: for proving that no secret reached Postgres. */
  async dumpDatabase(): Promise<string> {
    const tables = await this.dataSource.query<{ tablename: string }[]>(
      `SELECT tablename FROM pg_tables WHERE schemaname = 'public'`,
    );
    let out = '';
    for (const { tablename } of tables) {
      const rows = await this.dataSource.query<{ row: string }[]>(
        `SELECT t::text AS row FROM "${tablename}" t`,
      );
      out += rows.map((r) => `${tablename}: ${r.row}`).join('\n') + '\n';
    }
    return out;
  }

  /** Every key and value under this broker's Redis prefix. */
  async dumpRedis(): Promise<string> {
    const redis = new Redis(REDIS_URL);
    try {
      const keys = await redis.keys(`${this.redisPrefix}:*`);
      let out = '';
      for (const key of keys) {
        const type = await redis.type(key);
        const value =
          type === 'string'
            ? await redis.get(key)
            : type === 'hash'
              ? JSON.stringify(await redis.hgetall(key))
              : type === 'list'
                ? JSON.stringify(await redis.lrange(key, 0, -1))
                : type === 'zset'
                  ? JSON.stringify(await redis.zrange(key, '0', '-1'))
                  : type === 'set'
                    ? JSON.stringify(await redis.smembers(key))
                    : type;
        out += `${key} ${value}\n`;
      }
      return out;
    } finally {
      redis.disconnect();
    }
  }

  /**
   * Every place a secret must never reach, as text: Postgres (every table), Redis (everything
   * under this broker's prefix), the processes' logs, and the API answers a test collected.
   */
  async placesOutsideVault(answers: string[]): Promise<SecretPlaces> {
    return {
      postgres: await this.dumpDatabase(),
      redis: await this.dumpRedis(),
      logs: this.logs(),
      responses: answers.join('\n'),
    };
  }

  /** All output of every process this harness started. */
  logs(): string {
    return this.processes.map((p) => p.output()).join('\n');
  }

  async close(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop()));
    await this.dataSource.destroy();
    await this.vault.close();
    await this.db.drop();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${this.redisPrefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
}
