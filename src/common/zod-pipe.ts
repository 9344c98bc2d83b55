import { type PipeTransform } from '@nestjs/common';
import { type ZodError, type ZodType } from 'zod';
import { BrokerError, type FieldError } from './error-codes';
import { isMissing } from './zod-issues';

export function fieldErrors(error: ZodError, input: unknown): FieldError[] {
  return error.issues.map((issue) => ({
    path: issue.path.length > 0 ? issue.path.join('.') : '(body)',
    message:
      issue.code === 'unrecognized_keys'
        ? `unknown field(s): ${issue.keys.join(', ')}`
        : isMissing(issue, input)
          ? 'is required'
          : issue.message,
  }));
}

/** Validates a body or query with a zod schema; any mismatch is 400 `validation_failed`. */
export class ZodPipe<T> implements PipeTransform<unknown, T> {
  constructor(
    private readonly schema: ZodType<T, unknown>,
    private readonly what: 'body' | 'query' | 'path' = 'body',
  ) {}

  transform(value: unknown): T {
    const input = value ?? (this.what === 'body' ? undefined : {});
    const parsed = this.schema.safeParse(input);
    if (parsed.success) return parsed.data;
    throw new BrokerError('validation_failed', `The ${this.what} is not valid`, {
      errors: fieldErrors(parsed.error, input),
    });
  }
}
