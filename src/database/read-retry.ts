import { isDatabaseUnavailable } from '../common/dependency-errors';

/**
 * Runs an idempotent read, and once more when the database dropped the connection under it
 * (Postgres terminated the session, the socket reset): the pool hands the retry a fresh
 * connection, so a restart or failover of Postgres costs the caller nothing. A second failure
 * surfaces (as 503 database_unavailable). Never for writes: they may have happened.
 */
export async function readRetryingOnce<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (!isDatabaseUnavailable(err)) throw err;
    return read();
  }
}
