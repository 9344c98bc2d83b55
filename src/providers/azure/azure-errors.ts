/**
 * How an Entra ID (AADSTS) failure is read. `@azure/identity` surfaces them as
 * `AuthenticationError { statusCode, errorResponse: { error, errorDescription, errorCodes? } }`,
 * and MSAL's own errors (authority discovery) carry the code only in the message, so the codes
 * are taken from `errorCodes` where present and from the `AADSTS<n>` text otherwise.
 */
export type AzureFailure = 'invalid_credentials' | 'invalid_tenant' | 'transient';

/** The service principal's id or secret is wrong, expired, or the app is not in the tenant. */
const INVALID_CREDENTIALS = new Set([
  7000215, // invalid client secret
  7000222, // client secret expired
  700016, // application not found in the directory
]);

/** The tenant itself: unknown, malformed, or deleted. */
const INVALID_TENANT = new Set([
  90002, // tenant not found
  900023, // tenant identifier neither a directory name nor an id
  50128, // invalid domain name / no tenant-identifying information
  50059, // no tenant-identifying information found
  90019, // no tenant-identifying information found (v1)
]);

export function aadstsCodes(err: unknown): number[] {
  const codes = new Set<number>();
  const visit = (value: unknown, depth: number): void => {
    if (depth > 4 || value === null || typeof value !== 'object') return;
    const o = value as Record<string, unknown>;
    for (const key of ['errorCodes', 'error_codes']) {
      const list = o[key];
      if (Array.isArray(list))
        for (const c of list)
          if (typeof c === 'number' || typeof c === 'string') codes.add(Number(c));
    }
    for (const key of ['message', 'errorDescription', 'error_description', 'errorMessage']) {
      const text = o[key];
      if (typeof text === 'string')
        for (const m of text.matchAll(/AADSTS(\d+)/g)) codes.add(Number(m[1]));
    }
    visit(o.errorResponse, depth + 1);
    visit(o.cause, depth + 1);
  };
  visit(err, 0);
  return [...codes].filter((c) => Number.isFinite(c));
}

/** Classifies a token-request failure; anything unrecognised may work later, so it is transient. */
export function classifyAzureError(err: unknown): { failure: AzureFailure; aadsts?: number } {
  const codes = aadstsCodes(err);
  const credential = codes.find((c) => INVALID_CREDENTIALS.has(c));
  if (credential !== undefined) return { failure: 'invalid_credentials', aadsts: credential };
  const tenant = codes.find((c) => INVALID_TENANT.has(c));
  if (tenant !== undefined) return { failure: 'invalid_tenant', aadsts: tenant };
  // An `invalid_tenant` / `invalid_client` error word without a code still says what it is.
  const word = errorWord(err);
  if (word === 'invalid_tenant') return { failure: 'invalid_tenant' };
  if (word === 'invalid_client' || word === 'unauthorized_client')
    return { failure: 'invalid_credentials' };
  return { failure: 'transient', aadsts: codes[0] };
}

function errorWord(err: unknown): string | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const o = err as { errorResponse?: { error?: unknown }; errorCode?: unknown };
  const word = o.errorResponse?.error ?? o.errorCode;
  return typeof word === 'string' ? word : undefined;
}
