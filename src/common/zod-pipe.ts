import { type PipeTransform } from '@nestjs/common';
import { type ZodError, type ZodType, type ZodTypeDef } from 'zod';
import { BrokerError, type FieldError } from './error-codes';

export function fieldErrors(error: ZodError): FieldError[] {
  return error.issues.map((issue) => ({
    path: issue.path.length > 0 ? issue.path.join('.') : '(body)',
    message:
      issue.code === 'unrecognized_keys'
        ? `unknown field(s): ${issue.keys.join(', ')}`
        : issue.code === 'invalid_type' && issue.received === 'undefined'
          ? 'is required'
          : issue.message,
  }));
}

/** Validates a body or query with a zod schema; any mismatch is 400 `validation_failed`. */
export class ZodPipe<T> implements PipeTransform<unknown, T> {
  constructor(
    private readonly schema: ZodType<T, ZodTypeDef, unknown>,
    private readonly what: 'body' | 'query' = 'body',
  ) {}

  transform(value: unknown): T {
    const parsed = this.schema.safeParse(value ?? (this.what === 'body' ? undefined : {}));
    if (parsed.success) return parsed.data;
    throw new BrokerError('validation_failed', `The ${this.what} is not valid`, {
      errors: fieldErrors(parsed.error),
    });
  }
}
