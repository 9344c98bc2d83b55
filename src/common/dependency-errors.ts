/**
 * What a dependency going away looks like from inside a request, recognised by shape (common/
 * imports no driver): Postgres terminating the broker's sessions or refusing new ones, the pool
 * timing out, Redis dropping its connections. Such a failure is a 503 that names the dependency,
 * never a 500: the request was fine, the dependency will be back.
 */

/** SQLSTATEs of a lost or refused database connection: 57P01–03 and class 08. */
function isConnectionSqlState(code: unknown): boolean {
  return typeof code === 'string' && (/^57P0[123]$/.test(code) || /^08[0-9A-Z]{3}$/.test(code));
}

const SOCKET_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH']);
const PG_MESSAGES = [
  /^Connection terminated/,
  /timeout exceeded when trying to connect/,
  /^Client has encountered a connection error/,
  /^terminating connection due to administrator command/,
];

interface ErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  driverError?: { code?: unknown; message?: unknown };
}

function shape(err: unknown): ErrorShape | undefined {
  return typeof err === 'object' && err !== null ? err : undefined;
}

export function isDatabaseUnavailable(err: unknown): boolean {
  const e = shape(err);
  // TypeORM wraps the driver's error; the pool's own errors (connect timeout) arrive bare.
  const driver = e?.name === 'QueryFailedError' ? e.driverError : e;
  if (!e || !driver) return false;
  if (isConnectionSqlState(driver.code)) return true;
  const message = driver.message;
  if (typeof message === 'string' && PG_MESSAGES.some((re) => re.test(message))) return true;
  return e.name === 'QueryFailedError' && SOCKET_CODES.has(String(driver.code));
}

/** A socket error nothing wrapped: some dependency cannot be reached (a 503, not a 500). */
export function isUnreachable(err: unknown): boolean {
  return SOCKET_CODES.has(String(shape(err)?.code));
}

export function isRedisUnavailable(err: unknown): boolean {
  const e = shape(err);
  if (!e) return false;
  if (e.name === 'MaxRetriesPerRequestError') return true;
  return (
    typeof e.message === 'string' &&
    /^Connection is closed\.?$|^Stream isn't writeable/.test(e.message)
  );
}
