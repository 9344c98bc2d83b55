import { type FastifyReply, type FastifyRequest } from 'fastify';
import { ERROR_CODES, ERROR_TYPE_BASE } from '../common/error-codes';
import { ADMIN_BASIC_CHALLENGE, type AdminAuthenticator } from './admin-authenticator';
import { type AuthenticatedRequest } from './authenticated-request';

/**
 * A Fastify `onRequest` hook for admin pages mounted outside Nest (the Bull Board dashboard):
 * lets an admin through with `request.caller` set, answers anyone else 401 with a Basic challenge
 * so a browser asks for the admin's password.
 */
export function adminOnRequestHook(
  authenticator: AdminAuthenticator,
): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined> {
  return async (request, reply) => {
    const caller = await authenticator.authenticateAdmin(request.headers);
    if (caller !== null) {
      (request as AuthenticatedRequest).caller = caller;
      return undefined;
    }
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
