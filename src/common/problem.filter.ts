import { type ArgumentsHost, Catch, type ExceptionFilter, Logger } from '@nestjs/common';
import { type FastifyReply, type FastifyRequest } from 'fastify';
import { PROBLEM_CONTENT_TYPE, classifyError, toProblem } from './problem';

/** Renders every error as application/problem+json. Also used as Fastify's own error handler. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private static readonly logger = new Logger('ProblemFilter');

  catch(err: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    ProblemFilter.send(err, ctx.getRequest<FastifyRequest>(), ctx.getResponse<FastifyReply>());
  }

  static send(err: unknown, request: FastifyRequest, reply: FastifyReply): void {
    const classified = classifyError(err);
    if (classified.unexpected) {
      ProblemFilter.logger.error(
        { err, request_id: request.id, route: request.routeOptions?.url },
        'unexpected error',
      );
    } else if (classified.status >= 500) {
      ProblemFilter.logger.warn(
        { err, request_id: request.id, error_code: classified.code },
        'request failed',
      );
    }
    if (reply.sent) return;
    for (const [name, value] of Object.entries(classified.headers ?? {}))
      void reply.header(name, value);
    void reply
      .status(classified.status)
      .type(PROBLEM_CONTENT_TYPE)
      .send(toProblem(classified, request.id));
  }
}
