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

export function dataSourceOptions(url: string): DataSourceOptions {
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
      max: 10,
      connectionTimeoutMillis: 5000,
      application_name: 'credential-broker',
      Client: ResilientClient,
    },
  };
}

export function createDataSource(url: string): DataSource {
  return new DataSource(dataSourceOptions(url));
}
