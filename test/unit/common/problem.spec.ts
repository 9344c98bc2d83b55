import { BadRequestException, NotFoundException } from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import { BrokerError, ERROR_CODES } from '../../../src/common/error-codes';
import { classifyError, toProblem } from '../../../src/common/problem';
import { requestIdFrom } from '../../../src/common/request-id';

describe('problem+json', () => {
  it('renders a BrokerError with its code, status and field errors', () => {
    const problem = toProblem(
      classifyError(
        new BrokerError('validation_failed', 'The body is not valid', {
          errors: [{ path: 'a', message: 'is required' }],
        }),
      ),
      'req-1',
    );
    expect(problem).toEqual({
      type: 'https://credential-broker.dev/errors/validation_failed',
      title: ERROR_CODES.validation_failed.title,
      status: 400,
      detail: 'The body is not valid',
      code: 'validation_failed',
      request_id: 'req-1',
      errors: [{ path: 'a', message: 'is required' }],
    });
  });

  it('maps Fastify body errors to 4xx, never 500', () => {
    const cases: [string, number][] = [
      ['FST_ERR_CTP_INVALID_JSON_BODY', 400],
      ['FST_ERR_CTP_EMPTY_JSON_BODY', 400],
      ['FST_ERR_CTP_BODY_TOO_LARGE', 413],
      ['FST_ERR_CTP_INVALID_MEDIA_TYPE', 415],
    ];
    for (const [code, status] of cases) {
      expect(
        classifyError(Object.assign(new Error('x'), { code, statusCode: status })).status,
      ).toBe(status);
    }
    expect(classifyError(new SyntaxError('Unexpected token')).status).toBe(500);
  });

  it('maps Nest exceptions by status', () => {
    expect(classifyError(new NotFoundException()).code).toBe('not_found');
    expect(classifyError(new BadRequestException()).code).toBe('validation_failed');
    expect(classifyError(new ThrottlerException()).code).toBe('rate_limited');
  });

  it('hides unknown errors behind internal_error with no detail from the error', () => {
    const classified = classifyError(new Error('connection string postgres://user:pw@db'));
    expect(classified).toMatchObject({ code: 'internal_error', status: 500, unexpected: true });
    expect(classified.detail).not.toContain('postgres');
  });

  it('keeps a safe caller request id and replaces an unsafe one', () => {
    expect(requestIdFrom('abc-123_X.y')).toBe('abc-123_X.y');
    expect(requestIdFrom('x'.repeat(128))).toBe('x'.repeat(128));
    for (const bad of ['x'.repeat(129), 'has space', '', 'é', 'a\nb', undefined]) {
      expect(requestIdFrom(bad)).toMatch(/^[0-9a-f-]{36}$/);
    }
  });
});
