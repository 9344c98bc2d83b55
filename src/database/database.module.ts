import { type DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { type DatabaseClientRole, dataSourceOptions, defaultPoolMax } from './data-source';
import { ENTITIES } from './entities';

/** The pool size of one process: DATABASE_POOL_MAX, else the process's default. */
export function poolMaxOf(config: AppConfig, role: DatabaseClientRole): number {
  return (
    config.database.poolMax ??
    defaultPoolMax(role, {
      refresh: config.lifecycle.refreshConcurrency,
      setup: config.setupJobs.concurrency,
    })
  );
}

/** Postgres through TypeORM. `DataSource` and the entity repositories are injectable everywhere. */
@Global()
@Module({})
export class DatabaseModule {
  static forRoot(role: DatabaseClientRole): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [APP_CONFIG],
          useFactory: (config: AppConfig) => ({
            ...dataSourceOptions(config.database.url, poolMaxOf(config, role)),
            retryAttempts: 3,
            retryDelay: 1000,
          }),
        }),
        TypeOrmModule.forFeature(ENTITIES),
      ],
      exports: [TypeOrmModule],
    };
  }
}
