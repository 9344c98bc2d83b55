import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { redact, redactString } from './redaction';

/**
 * The broker's pino options: every log object and message goes through `redact`, so no code path
 * (ours or a library's error) can print a token.
 */
export function loggerOptions(level: string, base: Record<string, unknown> = {}): LoggerOptions {
  return {
    level,
    base: { service: 'credential-broker', ...base },
    messageKey: 'msg',
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      level: (label) => ({ level: label }),
      log: (object) => redact(object) as Record<string, unknown>,
    },
    hooks: {
      logMethod(args, method) {
        const cleaned = args.map((a: unknown) => (typeof a === 'string' ? redactString(a) : a));
        method.apply(this, cleaned as Parameters<typeof method>);
      },
    },
    serializers: {
      err: (err: unknown) => redact(err),
      error: (err: unknown) => redact(err),
    },
  };
}

export function createLogger(
  level: string,
  base?: Record<string, unknown>,
  destination?: DestinationStream,
): Logger {
  return destination
    ? pino(loggerOptions(level, base), destination)
    : pino(loggerOptions(level, base));
}
