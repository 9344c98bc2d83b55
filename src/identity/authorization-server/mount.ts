import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { type FastifyReply, type FastifyRequest } from 'fastify';
import { type AppConfig } from '../../config/config';
import { AuthorizationServer, isAuthorizationServerPath } from './authorization-server';

/**
 * The authorization server's pages: the broker's stylesheet, forms that post to the broker only,
 * no framing. `script-src 'self'` is there so that the library can add the hash of the one inline
 * script it writes (the auto-submitting form of a prefilled device code or of form_post): it
 * appends `'sha256-…'` to an existing script-src, and nothing else runs.
 */
export function oauthPageCsp(config: Pick<AppConfig, 'login'>, extraFormOrigin?: string): string {
  // Chrome applies form-action to the redirects after a form post: confirming a device code
  // leads on to the sign-in at the identity provider, and consent on to the client.
  const origins = new Set<string>(["'self'"]);
  for (const p of config.login.providers) {
    const url = p.kind === 'github' ? p.url : p.kind === 'entra' ? p.authority : p.issuer;
    origins.add(new URL(url).origin);
  }
  if (extraFormOrigin) origins.add(extraFormOrigin);
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    `form-action ${[...origins].join(' ')}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

/**
 * Hands the authorization server's paths (`/oauth/*` but the interaction pages, and the metadata
 * documents) to oidc-provider before Fastify reads the body: the library parses its own requests.
 */
export function mountAuthorizationServer(app: NestFastifyApplication, config: AppConfig): void {
  const server = app.get(AuthorizationServer);
  const csp = oauthPageCsp(config);
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const path = request.url.split('?')[0] ?? '';
    if (!isAuthorizationServerPath(path)) {
      done();
      return;
    }
    if (path.startsWith('/oauth/device')) reply.raw.setHeader('Content-Security-Policy', csp);
    reply.hijack();
    server.handle(request.raw, reply.raw);
  });
}
