import { type FastifyRequest } from 'fastify';
import { type ErrorCode } from '../common/error-codes';
import { type Caller } from './caller';

/**
 * A request the auth guard has seen: `caller` is set on every non-public route. On an
 * `@OptionalCaller()` route that refused what was presented, `callerRefused` says why (an ended
 * session, a person no longer allowed), so a page can say it instead of looking signed out.
 */
export type AuthenticatedRequest = FastifyRequest & { caller?: Caller; callerRefused?: ErrorCode };
