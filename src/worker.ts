import 'reflect-metadata';
import { createServer, type Server } from 'node:http';
import { NestFactory } from '@nestjs/core';
import { type INestApplicationContext } from '@nestjs/common';
import { Logger } from 'nestjs-pino';
import { createLogger } from './common/logger';
import { type AppConfig, describeWebhooks } from './config/config';
import { ReadinessService } from './health/readiness.service';
import { loadConfigOrExit } from './config/load-config-or-exit';
import { METRICS_CHALLENGE, metricsScrapeAllowed } from './metrics/metrics-token';
import { MetricsService } from './metrics/metrics.service';
import { PROBLEM_CONTENT_TYPE, toProblem } from './common/problem';
import { requestIdFrom } from './common/request-id';
import { WorkerModule } from './worker.module';

export async function createWorker(config: AppConfig): Promise<INestApplicationContext> {
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config), {
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  await app.init();
  return app;
}

/**
 * The worker has no API; this tiny server gives orchestrators its probes and Prometheus its
 * metrics, with the same meaning as the api's.
 */
function serveProbes(
  app: INestApplicationContext,
  port: number,
  host: string,
  metricsToken: string | undefined,
): Promise<Server> {
  const readiness = app.get(ReadinessService);
  const metrics = app.get(MetricsService);
  const server = createServer((req, res) => {
    const send = (status: number, body: string, type = 'application/json') => {
      res
        .writeHead(status, {
          'content-type': type,
          'cache-control': 'no-store',
          'x-content-type-options': 'nosniff',
        })
        .end(body);
    };
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') return send(405, '{"status":"method not allowed"}');
    if (path === '/health/live') return send(200, '{"status":"ok"}');
    if (path === '/health/ready') {
      readiness
        .check()
        .then((r) => send(r.status === 'ok' ? 200 : 503, JSON.stringify(r)))
        .catch(() => send(503, '{"status":"unavailable"}'));
      return;
    }
    if (path === '/metrics') {
      // The same rule as the api's /metrics: with METRICS_TOKEN set, only its bearer may scrape.
      if (!metricsScrapeAllowed(metricsToken, req.headers.authorization)) {
        const problem = toProblem(
          {
            code: 'unauthenticated',
            status: 401,
            detail: 'Send the metrics token as a bearer token',
            unexpected: false,
          },
          requestIdFrom(req.headers['x-request-id']),
        );
        res.setHeader('www-authenticate', METRICS_CHALLENGE);
        return send(401, JSON.stringify(problem), PROBLEM_CONTENT_TYPE);
      }
      metrics.registry
        .metrics()
        .then((text) => send(200, text, metrics.registry.contentType))
        .catch(() => send(500, ''));
      return;
    }
    send(404, '{"status":"not found"}');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

async function main(): Promise<void> {
  const config = loadConfigOrExit('worker');
  const app = await createWorker(config);
  const log = app.get(Logger);
  const server = await serveProbes(app, config.workerHealthPort, config.host, config.metricsToken);
  const stop = (signal: string) => {
    server.close();
    setTimeout(() => {
      process.stderr.write(
        `worker shutdown after ${signal} took longer than ${config.shutdownTimeoutSeconds}s\n`,
      );
      process.exit(1);
    }, config.shutdownTimeoutSeconds * 1000).unref();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  // The worker is the one that delivers: it says so too.
  log.log(describeWebhooks(config), 'Webhooks');
  const report = await app.get(ReadinessService).check();
  if (report.status === 'ok') {
    log.log(`worker ready (probes on ${config.host}:${config.workerHealthPort})`, 'Bootstrap');
  } else {
    log.warn({ checks: report.checks }, 'worker started but a dependency is not ready');
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    createLogger('error', { process: 'worker' }).fatal({ err }, 'worker failed to start');
    process.exit(1);
  });
}
