import { ProviderError, type ProviderFailure } from '../../src/providers/provider';

/** What a test expects of a `ProviderError`; `reason` and `status` are checked when given. */
export interface ExpectedProviderError {
  kind: ProviderFailure;
  reason?: string;
  status?: number;
}

/**
 * Awaits `subject` (a promise, or a function returning one or throwing), asserts that it failed
 * with a `ProviderError` of the expected kind (and reason, and status, when given), and returns
 * the error for further checks, e.g. that its message holds no secret.
 */
export async function expectProviderError(
  subject: Promise<unknown> | (() => unknown),
  expected: ExpectedProviderError,
): Promise<ProviderError> {
  let failure: { error: unknown } | undefined;
  try {
    await (typeof subject === 'function' ? subject() : subject);
  } catch (error) {
    failure = { error };
  }
  if (failure === undefined) throw new Error('expected a ProviderError, but the call succeeded');
  const { error } = failure;
  if (!(error instanceof ProviderError)) {
    throw new Error(`expected a ProviderError, got ${String(error)}`, { cause: error });
  }
  const seen: ExpectedProviderError = { kind: error.kind };
  if (expected.reason !== undefined) seen.reason = error.reason;
  if (expected.status !== undefined) seen.status = error.status;
  expect(seen).toEqual(expected);
  return error;
}
