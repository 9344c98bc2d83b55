import { createDataSource } from './data-source';

/**
 * The TypeORM CLI's entry (`typeorm migration:generate -d dist/src/database/cli-data-source.js`).
 * Reads DATABASE_URL only, so generating a migration needs no full configuration.
 */
export default createDataSource(
  process.env.DATABASE_URL ?? 'postgres://localhost/credential_broker',
);
