import { createHash } from 'node:crypto';

/**
 * sha256 (hex) of every secret value published in this repository: the compose file's and
 * `.env.example`'s development values, including those of earlier versions (git history keeps
 * them). `NODE_ENV=production` refuses them (SPEC §7). Only hashes are kept, so this file does not
 * publish them again. test/unit/config/published-secrets.spec.ts reads docker-compose.yml and
 * .env.example and fails when a secret-looking value there is missing from this list.
 */
export const PUBLISHED_SECRET_SHA256: ReadonlySet<string> = new Set([
  // docker-compose.yml before .env: AUTH_JWT_SECRET's default
  '5303f458c9be5a3a8c2f556947e616342d92e012b878f4bceb104aa53f531211',
  // docker-compose.yml before .env: POSTGRES_PASSWORD, the password in DATABASE_URL
  'faa2a9bdcc837728fffdebbca0ada344aca67ebe6aa54836d298377820590de2',
  // .env.example: the AUTH_JWT_SECRET placeholder
  '3179764960a0e50084a792fe636aec9051c1614119b4eca62189086390acbca6',
  // .env.example: the POSTGRES_PASSWORD placeholder
  '50707cbec1d59b631eed6a27587b3ecd591c70b9e39a49ffbb84511b3b8924d0',
]);

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

export function isPublishedSecret(value: string): boolean {
  return PUBLISHED_SECRET_SHA256.has(sha256Hex(value));
}

/** The password of a `scheme://user:password@host` URL, if it has one. */
export function urlPassword(value: string): string | undefined {
  try {
    const password = new URL(value).password;
    return password === '' ? undefined : decodeURIComponent(password);
  } catch {
    return undefined;
  }
}
