import 'reflect-metadata';
import { createDataSource } from '../../src/database/data-source';
import { runMigrations } from '../../src/database/migrations';
import { TEMPLATE_ENV, databaseUrl, withAdmin } from './postgres';

/** Migrates one template database per jest run; every test file clones it. */
export default async function globalSetup(): Promise<void> {
  if (process.env[TEMPLATE_ENV]) return; // the other project already made it
  const name = `cbk_tpl_${process.pid}_${Date.now().toString(36)}`;
  await withAdmin((c) => c.query(`CREATE DATABASE "${name}"`));
  const ds = createDataSource(databaseUrl(name));
  await ds.initialize();
  try {
    await runMigrations(ds);
  } finally {
    await ds.destroy();
  }
  process.env[TEMPLATE_ENV] = name;
}
