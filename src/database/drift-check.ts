import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { createDataSource } from './data-source';
import { pendingSchemaChanges, runMigrations } from './migrations';

/**
 * `npm run test:drift`: applies every migration to an empty, throw-away database and asks TypeORM
 * what it would still change to match the entities. Any answer means the entities and the
 * migrations disagree: write the missing migration (`npm run migration:generate`).
 */
async function main(): Promise<void> {
  const adminUrl =
    process.env.TEST_DATABASE_URL ??
    process.env.DATABASE_URL ??
    'postgres://root@127.0.0.1:5432/postgres';
  const name = `cbk_drift_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const dataSource = createDataSource(url.toString());
  let drift: string[];
  try {
    await dataSource.initialize();
    const applied = await runMigrations(dataSource);
    drift = await pendingSchemaChanges(dataSource);
    if (drift.length === 0) {
      process.stdout.write(
        `drift check: ${applied.length} migration(s) applied, entities match the schema\n`,
      );
    } else {
      process.stderr.write(
        `drift check FAILED: the entities differ from the migrations. Missing SQL:\n${drift.map((q) => `  ${q};`).join('\n')}\n`,
      );
    }
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  }
  if (drift.length > 0) process.exit(1);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `drift check could not run: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
