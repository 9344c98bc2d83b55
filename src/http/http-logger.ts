import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type ServerResponse } from 'node:http';
import { type Params } from 'nestjs-pino';
import { type AppConfig } from '../config/config';
import { loggerOptions } from '../common/logger';
import { redactString } from '../common/redaction';

const QUIET_ROUTES = /^\/(health\/(live|ready)|metrics)(\?|$)/;

/**
 * nestjs-pino for the api: one line per request with the request id bound to every log line made
 * while serving it. Requests are serialised by hand so no header (Authorization!) is ever logged.
 */
export function httpLoggerParams(config: AppConfig): Params {
  return {
    pinoHttp: {
      ...loggerOptions(config.logLevel, { process: 'api' }),
      genReqId: (req: IncomingMessage) =>
        (req as IncomingMessage & { id?: string }).id ?? randomUUID(),
      customAttributeKeys: { reqId: 'request_id' },
      autoLogging: { ignore: (req: IncomingMessage) => QUIET_ROUTES.test(req.url ?? '') },
      customLogLevel: (_req: IncomingMessage, res: ServerResponse, err?: Error) =>
        err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
      serializers: {
        req: (req: IncomingMessage & { id?: string }) => ({
          method: req.method,
          url: redactString(req.url ?? ''),
        }),
        res: (res: ServerResponse) => ({ status: res.statusCode }),
      },
    },
    // Errors are logged once, by the problem filter, with the classified code.
    assignResponse: false,
  };
}
