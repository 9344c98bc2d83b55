import 'reflect-metadata';
import { type ConfigError, requireVariable } from '../config/config';
import { createLogger } from '../common/logger';
import { createDataSource } from './data-source';
import { runMigrations } from './migrations';

/** `npm run migration:run`: applies pending migrations and exits. */
async function main(): Promise<void> {
  const log = createLogger(process.env.LOG_LEVEL ?? 'info', { process: 'migrate' });
  let url: string;
  try {
    url = requireVariable('DATABASE_URL');
  } catch (err) {
    process.stderr.write(`${(err as ConfigError).message}\n`);
    process.exit(78);
  }
  const dataSource = createDataSource(url);
  try {
    await dataSource.initialize();
    const applied = await runMigrations(dataSource);
    log.info(
      { applied },
      applied.length ? `applied ${applied.length} migration(s)` : 'schema is up to date',
    );
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
  }
}

main().catch((err: unknown) => {
  const log = createLogger('error', { process: 'migrate' });
  log.error({ err }, 'migration failed');
  process.exit(1);
});
