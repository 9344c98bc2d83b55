import 'reflect-metadata';
import { Client, type ClientConfig } from 'pg';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../migrations';
import { ENTITIES } from './entities';

/**
 * A pg client that always has an `error` listener. When Postgres ends a session (a restart, a
 * failover, `pg_terminate_backend`), pg emits `error` on the client, sometimes twice for one
 * termination; TypeORM 1.1 removes its own listener when it releases the broken client, so a
 * second `error` found no listener and crashed the process (an unhandled 'error' event, seen in
 * test/e2e/dependency-outage.e2e-spec.ts). The query in flight still fails (and becomes a 503);
 * this listener only keeps the process alive, and pg-pool discards the broken client itself.
 */
class ResilientClient extends Client {
  constructor(config?: string | ClientConfig) {
    super(config);
    this.on('error', () => undefined);
  }
}

export type DatabaseClientRole = 'api' | 'worker';

/**
 * The Postgres pool size when DATABASE_POOL_MAX is unset. The api's queries are short and its
 * hot path is cached: 10. The worker runs REFRESH_CONCURRENCY × 8 refresh jobs plus
 * SETUP_CONCURRENCY setup jobs; a job holds a connection only for one short query at a time and
 * spends most of its life on Vault, Redis and the provider, so half of them at once is plenty:
 * REFRESH_CONCURRENCY × 4 + SETUP_CONCURRENCY + 2 (44 with the defaults).
 */
export function defaultPoolMax(
  role: DatabaseClientRole,
  concurrency: { refresh: number; setup: number } = { refresh: 10, setup: 2 },
): number {
  switch (role) {
    case 'api':
      return 10;
    case 'worker':
      return concurrency.refresh * 4 + concurrency.setup + 2;
  }
}

export function dataSourceOptions(url: string, poolMax = 10): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    uuidExtension: 'pgcrypto',
    logging: false,
    extra: {
      max: poolMax,
      connectionTimeoutMillis: 5000,
      application_name: 'credential-broker',
      Client: ResilientClient,
    },
  };
}

export function createDataSource(url: string): DataSource {
  return new DataSource(dataSourceOptions(url));
}
