import { type z } from 'zod';

/**
 * Whether an issue is about a value that is not there at all. zod 4 no longer says what it
 * received, so the path is looked up in the input itself (the input is never echoed back).
 */
export function isMissing(issue: z.core.$ZodIssue, input: unknown): boolean {
  if (issue.code !== 'invalid_type') return false;
  let value: unknown = input;
  for (const key of issue.path) {
    if (value === null || typeof value !== 'object') return true;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value === undefined;
}
