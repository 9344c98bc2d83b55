import { createHash, timingSafeEqual } from 'node:crypto';

function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/**
 * Whether a scrape may read /metrics: always when no METRICS_TOKEN is configured, else only with
 * `Authorization: Bearer <token>`. One rule for the api and the worker's probe server.
 */
export function metricsScrapeAllowed(
  token: string | undefined,
  authorization: string | undefined,
): boolean {
  if (token === undefined) return true;
  const given = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
  return given !== undefined && sameSecret(given, token);
}

export const METRICS_CHALLENGE = 'Bearer realm="metrics"';
