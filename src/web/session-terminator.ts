import { type FastifyReply, type FastifyRequest } from 'fastify';

/**
 * The seam between the connect page's sign-out and the sign-in module (SPEC §9): whoever owns
 * sessions provides this token (`{ provide: SESSION_TERMINATOR, useExisting: … }`) and
 * POST /connect/logout calls it to delete the session in Redis. Until then the page only clears
 * the cookies.
 */
export const SESSION_TERMINATOR = Symbol('SESSION_TERMINATOR');

export interface SessionTerminator {
  terminate(request: FastifyRequest, reply: FastifyReply): Promise<void>;
}

/** Both names the session cookie may have (`__Host-` on https, plain on a http PUBLIC_URL). */
export const SESSION_COOKIE_NAMES = ['__Host-cbk_session', 'cbk_session'] as const;
