import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { DataSource } from 'typeorm';
import { mountJobDashboard } from './admin/job-dashboard';
import { AppModule } from './app.module';
import { configureHttpServer } from './http/http-server';
import { fastifyServerOptions } from './http/fastify-options';
import { registerSecurityHeaders } from './http/security-headers';
import { createLogger } from './common/logger';
import {
  type AppConfig,
  describeLogin,
  describeProviders,
  describeProxy,
  describeWebhooks,
} from './config/config';
import { loadConfigOrExit } from './config/load-config-or-exit';
import { runMigrations } from './database/migrations';
import { mountOpenApi } from './openapi/document';
import { mountAuthorizationServer } from './identity/authorization-server/mount';
import { CONNECT_PATH, connectPageCsp } from './web/connect-csp';
import { registerConnectFormParser } from './web/form-body';

export async function createApi(config: AppConfig): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter(fastifyServerOptions(config));
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  registerConnectFormParser(app, config.bodyLimitBytes);
  await registerSecurityHeaders(app, {
    publicUrl: config.publicUrl,
    // The page's URL may carry a claim code: no Referer leaves the origin. Not `no-referrer`:
    // under it browsers send `Origin: null` with the page's own form posts, which the session's
    // Origin check (SPEC §3) must then refuse.
    pages: [{ prefix: CONNECT_PATH, csp: connectPageCsp(config), referrerPolicy: 'same-origin' }],
  });
  configureHttpServer(app);
  mountAuthorizationServer(app, config);
  mountOpenApi(app);
  await mountJobDashboard(app);
  return app;
}

async function main(): Promise<void> {
  const config = loadConfigOrExit('api');
  const app = await createApi(config);
  const log = app.get(Logger);
  for (const line of describeProviders(config)) log.log(line, 'Providers');
  for (const line of describeLogin(config)) log.log(line, 'SignIn');
  log.log(describeWebhooks(config), 'Webhooks');
  log.log(describeProxy(config), 'Proxy');
  if (config.database.migrationsRun) {
    const applied = await runMigrations(app.get(DataSource));
    log.log(
      applied.length ? `applied migrations: ${applied.join(', ')}` : 'schema is up to date',
      'Migrations',
    );
  }
  process.once('SIGTERM', () => hardStopAfter(config.shutdownTimeoutSeconds));
  process.once('SIGINT', () => hardStopAfter(config.shutdownTimeoutSeconds));
  await app.listen(config.port, config.host);
  log.log(
    `api listening on ${config.host}:${config.port} (secret store: ${config.secretStore.kind})`,
    'Bootstrap',
  );
}

/** Nest closes gracefully on the signal; this only bounds how long that may take. */
function hardStopAfter(seconds: number): void {
  setTimeout(() => {
    process.stderr.write(`shutdown took longer than ${seconds}s; exiting\n`);
    process.exit(1);
  }, seconds * 1000).unref();
}

if (require.main === module) {
  main().catch((err: unknown) => {
    createLogger('error', { process: 'api' }).fatal({ err }, 'api failed to start');
    process.exit(1);
  });
}
