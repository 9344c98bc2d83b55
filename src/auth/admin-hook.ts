import { type FastifyReply, type FastifyRequest } from 'fastify';
import { ERROR_CODES, ERROR_TYPE_BASE } from '../common/error-codes';
import { ADMIN_BASIC_CHALLENGE, type AdminAuthenticator } from './admin-authenticator';
import { type AuthFailureLimiter } from './auth-failure-limiter';
import { type AuthenticatedRequest } from './authenticated-request';
import { BrokerError } from '../common/error-codes';
import { type SessionAuthenticator } from './session-authenticator';

/**
 * A Fastify `onRequest` hook for admin pages mounted outside Nest (the Bull Board dashboard):
 * lets an admin through with `request.caller` set, answers anyone else 401 with a Basic challenge
 * so a browser asks for the admin's password. A signed-in person listed in ADMIN_USERS comes in
 * with the session cookie (unsafe methods Origin-checked, as everywhere).
 */
export function adminOnRequestHook(
  authenticator: AdminAuthenticator,
  limiter?: AuthFailureLimiter,
  sessions?: SessionAuthenticator,
): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined> {
  return async (request, reply) => {
    if (request.headers.authorization === undefined && sessions?.sessionId(request)) {
      try {
        const caller = await sessions.authenticate(request, { adminOnly: true });
        if (caller !== null) {
          (request as AuthenticatedRequest).caller = caller;
          return undefined;
        }
      } catch (err) {
        if (!(err instanceof BrokerError) || err.status !== 403) throw err;
        return problem(reply, err.code, err.detail ?? ERROR_CODES[err.code].title);
      }
    }
    // The same per-address limit as the guard's: a refused address costs no hash check.
    await limiter?.assertAllowed(request.ip);
    const caller = await authenticator.authenticateAdmin(request.headers, request.ip);
    if (caller !== null) {
      (request as AuthenticatedRequest).caller = caller;
      return undefined;
    }
    if (request.headers.authorization !== undefined) await limiter?.recordFailure(request.ip);
    return problem(
      reply.header('www-authenticate', ADMIN_BASIC_CHALLENGE),
      'unauthenticated',
      'admin credentials are required',
    );
  };
}

function problem(
  reply: FastifyReply,
  code: keyof typeof ERROR_CODES,
  detail: string,
): FastifyReply {
  const { status, title } = ERROR_CODES[code];
  return reply
    .code(status)
    .type('application/problem+json')
    .send({
      type: `${ERROR_TYPE_BASE}${code}`,
      title,
      status,
      detail,
      code,
      request_id: reply.request.id,
    });
}
