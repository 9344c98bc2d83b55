import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { type FastifyRequest } from 'fastify';
import { BrokerError } from '../common/error-codes';

/**
 * Fastify answers HEAD with a GET route's handler. A callback's GET consumes its state and
 * spends its code, so a HEAD (a link preview, a prefetching proxy) would use up the login:
 * HEAD is refused before anything runs (405, problem+json, `Allow: GET`).
 */
@Injectable()
export class RefuseHeadGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    if (req.method === 'HEAD') {
      throw new BrokerError('method_not_allowed', 'A callback is only followed with GET', {
        headers: { Allow: 'GET' },
      });
    }
    return true;
  }
}
