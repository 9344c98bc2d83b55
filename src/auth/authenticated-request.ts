import { type FastifyRequest } from 'fastify';
import { type Caller } from './caller';

/** A request the auth guard has seen: `caller` is set on every non-public route. */
export type AuthenticatedRequest = FastifyRequest & { caller?: Caller };
