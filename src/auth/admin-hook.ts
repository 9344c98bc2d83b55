import { type FastifyReply, type FastifyRequest } from 'fastify';
import { ERROR_CODES, ERROR_TYPE_BASE } from '../common/error-codes';
import { ADMIN_BASIC_CHALLENGE, type AdminAuthenticator } from './admin-authenticator';
import { type AuthFailureLimiter } from './auth-failure-limiter';
import { type AuthenticatedRequest } from './authenticated-request';

/**
 * A Fastify `onRequest` hook for admin pages mounted outside Nest (the Bull Board dashboard):
 * lets an admin through with `request.caller` set, answers anyone else 401 with a Basic challenge
 * so a browser asks for the admin's password.
 */
export function adminOnRequestHook(
  authenticator: AdminAuthenticator,
  limiter?: AuthFailureLimiter,
): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined> {
  return async (request, reply) => {
    // The same per-address limit as the guard's: a refused address costs no hash check.
    await limiter?.assertAllowed(request.ip);
    const caller = await authenticator.authenticateAdmin(request.headers, request.ip);
    if (caller !== null) {
      (request as AuthenticatedRequest).caller = caller;
      return undefined;
    }
    if (request.headers.authorization !== undefined) await limiter?.recordFailure(request.ip);
    const { status, title } = ERROR_CODES.unauthenticated;
    return reply
      .code(status)
      .header('www-authenticate', ADMIN_BASIC_CHALLENGE)
      .type('application/problem+json')
      .send({
        type: `${ERROR_TYPE_BASE}unauthenticated`,
        title,
        status,
        detail: 'admin credentials are required',
      });
  };
}
