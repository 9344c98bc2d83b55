import helmet from '@fastify/helmet';
import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { type FastifyReply, type FastifyRequest } from 'fastify';
import { type ServerResponse } from 'node:http';

/** The JSON API loads nothing and may not be framed. */
export const API_CSP =
  "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * The HTML pages (Swagger UI at /docs, Bull Board at /admin/queues): their scripts and styles are
 * files of their own origin, but both put `<style>` blocks and `style=` attributes in the page and
 * use data: images, so styles need 'unsafe-inline' (scripts do not). No framing, ever.
 */
export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Path prefixes that serve HTML pages (and their assets). */
export const PAGE_PREFIXES = ['/docs', '/admin/queues'] as const;

export function isPagePath(url: string): boolean {
  const path = url.split('?')[0] ?? url;
  return PAGE_PREFIXES.some(
    (p) => path === p || path.startsWith(`${p}/`) || path.startsWith(`${p}-`),
  );
}

/** A page with a policy of its own (the connect page: no 'unsafe-inline' at all). */
export interface PagePolicy {
  /** The page's path; the policy covers it and everything under `${prefix}/`. */
  prefix: string;
  csp: string;
  referrerPolicy?: string;
}

function pagePolicyOf(url: string, pages: readonly PagePolicy[]): PagePolicy | undefined {
  const path = url.split('?')[0] ?? url;
  return pages.find((p) => path === p.prefix || path.startsWith(`${p.prefix}/`));
}

/**
 * The headers a response gets even when Fastify answers before any hook (router errors, client
 * errors on the socket): set on the Node response, which Fastify merges into what it sends.
 */
export function setBaselineHeaders(raw: ServerResponse): void {
  raw.setHeader('X-Content-Type-Options', 'nosniff');
  raw.setHeader('Cache-Control', 'no-store');
  raw.setHeader('Content-Security-Policy', API_CSP);
}

/**
 * Security headers on every response (SPEC §4), through @fastify/helmet: nosniff, a CSP with
 * `frame-ancestors 'none'` (the pages' own policy on /docs and /admin/queues), HSTS only when the
 * broker is served over https, and `Cache-Control: no-store` unless a route set its own — every
 * JSON answer may carry a connection, a token or a caller's data.
 */
export async function registerSecurityHeaders(
  app: NestFastifyApplication,
  options: { publicUrl: string; pages?: readonly PagePolicy[] },
): Promise<void> {
  const pages = options.pages ?? [];
  const https = options.publicUrl.startsWith('https://');
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: false,
    hsts: https ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    crossOriginEmbedderPolicy: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const page = pagePolicyOf(request.url, pages);
    if (page) {
      reply.raw.setHeader('Content-Security-Policy', page.csp);
      if (page.referrerPolicy) reply.raw.setHeader('Referrer-Policy', page.referrerPolicy);
    } else {
      reply.raw.setHeader('Content-Security-Policy', isPagePath(request.url) ? PAGE_CSP : API_CSP);
    }
    done();
  });
  fastify.addHook('onSend', (_request: FastifyRequest, reply: FastifyReply, payload, done) => {
    if (!reply.hasHeader('cache-control') && !reply.raw.hasHeader('cache-control')) {
      void reply.header('Cache-Control', 'no-store');
    }
    done(null, payload);
  });
}
