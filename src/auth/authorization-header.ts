/** What an `Authorization` header claims to be, before anything is verified. */
export type PresentedCredentials =
  | { scheme: 'api_key'; key: string }
  | { scheme: 'jwt'; token: string }
  | { scheme: 'basic'; encoded: string };

export const API_KEY_MARKER = 'cbk_';

/** Splits the header into scheme and credentials; null when absent or not Bearer/Basic. */
export function parseAuthorization(
  header: string | string[] | undefined,
): PresentedCredentials | null {
  if (typeof header !== 'string') return null;
  const match = /^([A-Za-z]+) +([^\s]+)\s*$/.exec(header);
  if (!match) return null;
  const scheme = match[1].toLowerCase();
  const value = match[2];
  if (scheme === 'bearer') {
    return value.startsWith(API_KEY_MARKER)
      ? { scheme: 'api_key', key: value }
      : { scheme: 'jwt', token: value };
  }
  if (scheme === 'basic') return { scheme: 'basic', encoded: value };
  return null;
}
