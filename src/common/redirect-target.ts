import { BrokerError } from './error-codes';

/**
 * Where a flow may send the browser back to: a path (resolved against `base`) or an absolute URL
 * on one of `allowedOrigins`, else the flow would be an open redirect. Returns the absolute URL;
 * throws 400 `validation_failed` naming `field` otherwise.
 */
export function redirectTarget(
  value: string,
  options: { base: string; allowedOrigins: readonly string[]; field: string },
): string {
  let target: URL | undefined;
  try {
    target = new URL(value, options.base);
  } catch {
    target = undefined;
  }
  if (target === undefined || !options.allowedOrigins.includes(target.origin)) {
    throw new BrokerError(
      'validation_failed',
      `${options.field} must be a path or a URL on ${options.allowedOrigins.join(' or ')}`,
      {
        errors: [
          {
            path: options.field,
            message: `must start with ${options.allowedOrigins.join(' or ')}`,
          },
        ],
      },
    );
  }
  return target.toString();
}

/** The origins the broker's own flows may return to: PUBLIC_URL's and FRONTEND_URL's. */
export function brokerOrigins(config: { publicUrl: string; frontendUrl: string }): string[] {
  return [...new Set([new URL(config.publicUrl).origin, new URL(config.frontendUrl).origin])];
}
