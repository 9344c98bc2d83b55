import 'reflect-metadata';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from '../app.module';
import { loadConfig } from '../config/config';
import { buildOpenApiDocument } from './document';

/**
 * `npm run openapi` writes `openapi.json` at the top of the repository from the code;
 * `npm run test:openapi` (part of `npm test`) fails when the committed file differs, like the
 * migration drift check. The routes do not depend on configuration (a disabled provider's routes
 * exist and answer 404), so a fixed, offline configuration with every provider enabled is used,
 * and Nest's preview mode builds the module graph without instantiating anything (no database,
 * Redis or Vault is reached).
 */
const OFFLINE_ENV = {
  NODE_ENV: 'development',
  PUBLIC_URL: 'http://127.0.0.1:3000',
  FRONTEND_URL: 'http://127.0.0.1:3000/connect',
  DATABASE_URL: 'postgres://openapi@127.0.0.1:1/openapi',
  REDIS_URL: 'redis://127.0.0.1:1',
  SECRET_STORE: 'local',
  LOCAL_SECRET_KEY: Buffer.alloc(32).toString('base64'),
  AUTH_JWT_SECRET: 'openapi-document-generation-only-0000',
  GCP_CLIENT_ID: 'openapi',
  GCP_CLIENT_SECRET: 'openapi',
  OVH_EU_CLIENT_ID: 'openapi',
  OVH_EU_CLIENT_SECRET: 'openapi',
};

const FILE = join(__dirname, '..', '..', '..', 'openapi.json');

export async function generateOpenApiJson(): Promise<string> {
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(loadConfig(OFFLINE_ENV)),
    new FastifyAdapter(),
    { preview: true, logger: false, abortOnError: false },
  );
  try {
    return `${JSON.stringify(buildOpenApiDocument(app), null, 2)}\n`;
  } finally {
    await app.close();
  }
}

async function main(): Promise<void> {
  const generated = await generateOpenApiJson();
  if (process.argv.includes('--check')) {
    let committed = '';
    try {
      committed = readFileSync(FILE, 'utf8');
    } catch {
      // missing: reported below
    }
    if (committed !== generated) {
      process.stderr.write(
        'openapi check FAILED: openapi.json differs from what the code generates. ' +
          'Run `npm run openapi` and commit the result.\n',
      );
      process.exit(1);
    }
    process.stdout.write('openapi check: openapi.json matches the code\n');
    return;
  }
  writeFileSync(FILE, generated);
  process.stdout.write(`wrote ${FILE}\n`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(
      `openapi: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  });
}
