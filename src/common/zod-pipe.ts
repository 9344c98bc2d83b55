import { type PipeTransform } from '@nestjs/common';
import { type ZodError, type ZodType } from 'zod';
import { BrokerError, type FieldError } from './error-codes';
import { isMissing, safeIssueMessage } from './zod-issues';

/** The field names of an object schema (ours, so safe to show), for "unknown field" messages. */
function allowedFields(schema: ZodType | undefined): string[] | undefined {
  const shape = (schema as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape && typeof shape === 'object' ? Object.keys(shape) : undefined;
}

export function fieldErrors(error: ZodError, input: unknown, schema?: ZodType): FieldError[] {
  const allowed = allowedFields(schema);
  return error.issues.map((issue) => {
    let message = isMissing(issue, input) ? 'is required' : safeIssueMessage(issue, input);
    if (issue.code === 'unrecognized_keys' && issue.path.length === 0 && allowed) {
      message += ` (allowed: ${allowed.join(', ')})`;
    }
    return { path: issue.path.length > 0 ? issue.path.join('.') : '(body)', message };
  });
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
      errors: fieldErrors(parsed.error, input, this.schema),
    });
  }
}
