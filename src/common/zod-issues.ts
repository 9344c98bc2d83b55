import { type z } from 'zod';

function valueAt(input: unknown, path: readonly PropertyKey[]): { found: boolean; value: unknown } {
  let value: unknown = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return { found: false, value: undefined };
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return { found: value !== undefined, value };
}

/**
 * Whether an issue is about a value that is not there at all. zod 4 no longer says what it
 * received, so the path is looked up in the input itself (the input is never echoed back).
 */
export function isMissing(issue: z.core.$ZodIssue, input: unknown): boolean {
  if (issue.code !== 'invalid_type') return false;
  return !valueAt(input, issue.path).found;
}

/** Messages by issue code that say what was wrong without the value. */
const GENERIC: Record<string, string> = {
  invalid_type: 'has the wrong type',
  invalid_value: 'is not one of the allowed values',
  invalid_format: 'is not in the expected format',
  too_big: 'is too long or too large',
  too_small: 'is too short or too small',
  not_multiple_of: 'is not an allowed number',
  invalid_union: 'is not valid',
  invalid_key: 'has an invalid key',
  invalid_element: 'has an invalid element',
  custom: 'is not valid',
};

/**
 * The message of an issue, never repeating the caller's value (SPEC §4): zod's messages name
 * types, limits and patterns, but a refinement may interpolate its input and zod itself prints
 * non-finite numbers and unknown keys. Unknown keys are counted, not named (a key can be a value
 * pasted in the wrong place); a message holding the value is replaced by a generic one.
 */
export function safeIssueMessage(issue: z.core.$ZodIssue, input: unknown): string {
  if (issue.code === 'unrecognized_keys') {
    const n = issue.keys.length;
    return n === 1 ? 'has an unknown field' : `has ${n} unknown fields`;
  }
  const { value } = valueAt(input, issue.path);
  const shown =
    typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint'
      ? String(value)
      : undefined;
  if (shown !== undefined && shown.length >= 3 && issue.message.includes(shown)) {
    return GENERIC[issue.code] ?? 'is not valid';
  }
  return issue.message;
}
