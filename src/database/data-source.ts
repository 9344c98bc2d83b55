import 'reflect-metadata';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../migrations';
import { ENTITIES } from './entities';

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
    extra: { max: poolMax, connectionTimeoutMillis: 5000, application_name: 'credential-broker' },
  };
}

export function createDataSource(url: string): DataSource {
  return new DataSource(dataSourceOptions(url));
}
