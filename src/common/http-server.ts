import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { type FastifyReply, type FastifyRequest } from 'fastify';
import { MetricsService } from '../metrics/metrics.service';
import { ProblemFilter } from './problem.filter';

/**
 * Fastify-level wiring that must also cover what never reaches a Nest handler: body-parser errors,
 * unknown routes, and the X-Request-Id header on every response.
 */
export function configureHttpServer(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  const metrics = app.get(MetricsService);

  fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    void reply.header('X-Request-Id', request.id);
    done();
  });
  fastify.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.observeHttp(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  fastify.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    ProblemFilter.send(err, request, reply);
  });
}
