import { classifyError } from '../../../src/common/problem';
import { BrokerError } from '../../../src/common/error-codes';

/** Dependencies that go away answer 503 problem+json naming them, with Retry-After (SPEC §8). */
describe('dependency errors', () => {
  const queryFailed = (driverError: object) =>
    Object.assign(new Error('query failed'), { name: 'QueryFailedError', driverError });

  it.each([
    ['a terminated session (57P01)', queryFailed({ code: '57P01', message: 'terminating' })],
    ['a crash shutdown (57P02)', queryFailed({ code: '57P02' })],
    ['a server that is starting (57P03)', queryFailed({ code: '57P03' })],
    ['a connection exception (08006)', queryFailed({ code: '08006' })],
    [
      'a reset socket under a query',
      queryFailed({ code: 'ECONNRESET', message: 'read ECONNRESET' }),
    ],
    ['a pool that times out', new Error('timeout exceeded when trying to connect')],
    ['a connection ended by the server', new Error('Connection terminated unexpectedly')],
  ])('%s → 503 database_unavailable with Retry-After', (_what, err) => {
    const c = classifyError(err);
    expect(c).toMatchObject({ code: 'database_unavailable', status: 503, unexpected: false });
    expect(c.headers?.['retry-after']).toMatch(/^\d+$/);
  });

  it('Redis that dropped its connections → 503 redis_unavailable', () => {
    const err = Object.assign(new Error('Reached the max retries per request limit'), {
      name: 'MaxRetriesPerRequestError',
    });
    expect(classifyError(err)).toMatchObject({ code: 'redis_unavailable', status: 503 });
    expect(classifyError(new Error('Connection is closed.'))).toMatchObject({
      code: 'redis_unavailable',
    });
  });

  it('an unreachable dependency nothing wrapped → 503 service_unavailable, never 500', () => {
    const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
      code: 'ECONNREFUSED',
    });
    expect(classifyError(err)).toMatchObject({ code: 'service_unavailable', status: 503 });
  });

  it('gives every 503 a Retry-After, also when its code did not set one', () => {
    const c = classifyError(new BrokerError('secret_store_unavailable', 'down'));
    expect(c.headers?.['retry-after']).toMatch(/^\d+$/);
  });

  it('leaves a query that failed for its own reasons alone (a 500, not a 503)', () => {
    const unique = queryFailed({ code: '23505', message: 'duplicate key' });
    expect(classifyError(unique)).toMatchObject({ code: 'internal_error', status: 500 });
  });
});
