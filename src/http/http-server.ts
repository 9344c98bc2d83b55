import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { type FastifyReply, type FastifyRequest } from 'fastify';
import { BrokerError } from '../common/error-codes';
import { MetricsService } from '../metrics/metrics.service';
import { MAX_URL_LENGTH } from './client-errors';

/**
 * Fastify-level wiring for what every response needs, including those that never reach a Nest
 * handler (body-parser errors, unknown routes): the X-Request-Id header and the HTTP metrics.
 * Nest itself routes Fastify's errors to the ProblemFilter.
 */
export function configureHttpServer(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  const metrics = app.get(MetricsService);

  fastify.addHook(
    'onRequest',
    (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
      void reply.header('X-Request-Id', request.id);
      if (request.url.length > MAX_URL_LENGTH) {
        done(
          new BrokerError('uri_too_long', `The URL is longer than ${MAX_URL_LENGTH} characters`),
        );
        return;
      }
      done();
    },
  );
  fastify.addHook(
    'onResponse',
    (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      const route = request.routeOptions.url ?? 'unmatched';
      metrics.observeHttp(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
      done();
    },
  );
}
