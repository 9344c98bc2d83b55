import { type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import { type IncomingMessage } from 'node:http';
import { ProblemFilter } from '../common/problem.filter';
import { requestIdFrom } from '../common/request-id';
import { type AppConfig } from '../config/config';
import { answerClientError } from './client-errors';
import { setBaselineHeaders } from './security-headers';

type TrustHops = (address: string, hop: number) => boolean;

/** Fastify's `trustProxy`; a hop count becomes proxy-addr's "trust the first n hops". */
function trustProxyOption(value: AppConfig['trustProxy']): boolean | string[] | TrustHops {
  if (typeof value !== 'number') return value;
  return (_address: string, hop: number) => hop < value;
}

/** The options of the api's Fastify instance. */
export function fastifyServerOptions(config: AppConfig) {
  return {
    bodyLimit: config.bodyLimitBytes,
    // Only the configured proxies may name the client (TRUST_PROXY); by default nobody can, and
    // X-Forwarded-For cannot pick the address that rate limits and logs see.
    trustProxy: trustProxyOption(config.trustProxy),
    // The caller's id is kept when safe (SPEC §4); it is also put on the raw request for pino-http.
    genReqId: (req: IncomingMessage) => {
      const id = requestIdFrom(req.headers['x-request-id']);
      (req as IncomingMessage & { id?: string }).id = id;
      return id;
    },
    requestIdHeader: false as const,
    // Headers over Node's maxHeaderSize (431) and other parser errors, before any request exists.
    clientErrorHandler: answerClientError,
    // The router's own errors (a malformed URL; a path segment over maxParamLength: 414) are
    // answered before any hook runs, so they get the baseline headers here.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      setBaselineHeaders(reply.raw);
      void reply.header('X-Request-Id', request.id);
      ProblemFilter.send(error, request, reply);
    },
  };
}
