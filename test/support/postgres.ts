import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { type DataSource } from 'typeorm';
import { createDataSource } from '../../src/database/data-source';

export const ADMIN_DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/postgres';

export function databaseUrl(name: string): string {
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function withAdmin<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: ADMIN_DATABASE_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export const TEMPLATE_ENV = 'CBK_TEST_TEMPLATE_DB';

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/**
 * A fresh database for one test file, cloned from the migrated template that the global setup
 * made. Tests seed what they need and never share tables with another file.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const template = process.env[TEMPLATE_ENV];
  if (!template)
    throw new Error(`${TEMPLATE_ENV} is not set: run the tests through jest (global setup)`);
  // Named after this run's template, so the run's teardown can sweep what a crashed file left.
  const name = `${template}_f${randomBytes(5).toString('hex')}`;
  await withAdmin(async (client) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await client.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
        return;
      } catch (err) {
        // Two files cloning at the same instant can see the template "being accessed"; try again.
        if (attempt >= 20 || !/being accessed/.test((err as Error).message)) throw err;
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
      }
    }
  });
  return {
    name,
    url: databaseUrl(name),
    drop: () =>
      withAdmin(
        async (c) => void (await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)),
      ),
  };
}

/** A test file's own database (createTestDatabase) with a DataSource on it, initialised. */
export interface TestDataSource extends TestDatabase {
  ds: DataSource;
  /** Destroys the DataSource, then drops the database. */
  close(): Promise<void>;
}

export async function openTestDataSource(): Promise<TestDataSource> {
  const db = await createTestDatabase();
  const ds = createDataSource(db.url);
  await ds.initialize();
  return {
    ...db,
    ds,
    close: async () => {
      await ds.destroy();
      await db.drop();
    },
  };
}
