import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { type FastifyReply, type FastifyRequest } from 'fastify';
import { AuthorizationServer, isAuthorizationServerPath } from './authorization-server';

/**
 * The library's pages (device code entry and confirmation): the broker's stylesheet, forms that
 * post to the broker only, no script, no framing.
 */
export const OAUTH_PAGE_CSP =
  "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * Hands the authorization server's paths (`/oauth/*` but the interaction pages, and the metadata
 * documents) to oidc-provider before Fastify reads the body: the library parses its own requests.
 */
export function mountAuthorizationServer(app: NestFastifyApplication): void {
  const server = app.get(AuthorizationServer);
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const path = request.url.split('?')[0] ?? '';
    if (!isAuthorizationServerPath(path)) {
      done();
      return;
    }
    if (path.startsWith('/oauth/device'))
      reply.raw.setHeader('Content-Security-Policy', OAUTH_PAGE_CSP);
    reply.hijack();
    server.handle(request.raw, reply.raw);
  });
}
