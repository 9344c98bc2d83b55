import { parseCookie, stringifySetCookie } from 'cookie';
import { type LoginConfig } from '../config/config';

/**
 * The session cookie (SPEC §9). `__Host-` makes the browser refuse it unless Secure, host-only
 * and Path=/, so no subdomain can plant or read it; on a plain-http PUBLIC_URL (development only)
 * it is `cbk_session` without Secure, which browsers would otherwise drop.
 */
export const SECURE_SESSION_COOKIE = '__Host-cbk_session';
export const PLAIN_SESSION_COOKIE = 'cbk_session';

export function sessionCookieName(login: Pick<LoginConfig, 'secureCookie'>): string {
  return login.secureCookie ? SECURE_SESSION_COOKIE : PLAIN_SESSION_COOKIE;
}

/** The session id a request carries, if any. */
export function readSessionCookie(
  header: string | undefined,
  login: Pick<LoginConfig, 'secureCookie'>,
): string | undefined {
  if (header === undefined) return undefined;
  const value = parseCookie(header)[sessionCookieName(login)];
  return value === undefined || value === '' ? undefined : value;
}

export function setSessionCookie(
  id: string,
  login: Pick<LoginConfig, 'secureCookie' | 'sessionTtlSeconds'>,
): string {
  return stringifySetCookie({
    name: sessionCookieName(login),
    value: id,
    httpOnly: true,
    secure: login.secureCookie,
    sameSite: 'lax',
    path: '/',
    maxAge: login.sessionTtlSeconds,
  });
}

export function clearSessionCookie(login: Pick<LoginConfig, 'secureCookie'>): string {
  return stringifySetCookie({
    name: sessionCookieName(login),
    value: '',
    httpOnly: true,
    secure: login.secureCookie,
    sameSite: 'lax',
    path: '/',
    maxAge: 0,
    expires: new Date(0),
  });
}
