/**
 * A fetch-driven "browser" for sign-in tests: follows the redirects of a sign-in hop by hop (the
 * broker's `/auth/login` 302, the identity provider's authorize, its interaction pages when they
 * auto-consent, back to the broker's `/auth/callback`) keeping cookies per origin, and stops at
 * the broker's callback so a test can look at the session cookie and the redirect it answers.
 *
 * The cookie jar is hand-written (RFC 6265's name/value, Path, Max-Age and Expires; no Domain
 * matching, no public-suffix list) because no maintained jar is in node_modules (tough-cookie is
 * not installed) and adding a dependency for a test helper is not worth it. Cookies are kept per
 * `host:port`, stricter than a browser (which shares 127.0.0.1's cookies across ports), so the
 * broker and each emulator keep theirs apart here; the emulators name their cookies per port for
 * real browsers.
 */

interface StoredCookie {
  name: string;
  value: string;
  path: string;
  expiresAt?: number;
}

export class CookieJar {
  private readonly byOrigin = new Map<string, Map<string, StoredCookie>>();

  /** Keeps the `Set-Cookie` headers of an answer to `url` (a past expiry deletes). */
  store(url: string | URL, setCookie: string[]): void {
    const u = new URL(url);
    const jar = this.byOrigin.get(u.host) ?? new Map<string, StoredCookie>();
    this.byOrigin.set(u.host, jar);
    for (const header of setCookie) {
      const [pair, ...attributes] = header.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const cookie: StoredCookie = {
        name: pair.slice(0, eq).trim(),
        value: pair.slice(eq + 1).trim(),
        // RFC 6265 5.1.4: without Path, the directory of the request path.
        path:
          u.pathname.lastIndexOf('/') > 0 ? u.pathname.slice(0, u.pathname.lastIndexOf('/')) : '/',
      };
      for (const attribute of attributes) {
        const i = attribute.indexOf('=');
        const key = (i < 0 ? attribute : attribute.slice(0, i)).trim().toLowerCase();
        const value = i < 0 ? '' : attribute.slice(i + 1).trim();
        if (key === 'path' && value.startsWith('/')) cookie.path = value;
        if (key === 'max-age' && /^-?\d+$/.test(value)) {
          cookie.expiresAt = Date.now() + Number(value) * 1000;
        }
        if (key === 'expires' && cookie.expiresAt === undefined) {
          const at = Date.parse(value);
          if (!Number.isNaN(at)) cookie.expiresAt = at;
        }
      }
      const key = `${cookie.name};${cookie.path}`;
      if (cookie.expiresAt !== undefined && cookie.expiresAt <= Date.now()) jar.delete(key);
      else jar.set(key, cookie);
    }
  }

  /** The `Cookie` header a browser would send to `url`, or undefined. */
  header(url: string | URL): string | undefined {
    const u = new URL(url);
    const jar = this.byOrigin.get(u.host);
    if (!jar) return undefined;
    const now = Date.now();
    const matches = [...jar.values()]
      .filter((c) => c.expiresAt === undefined || c.expiresAt > now)
      .filter(
        (c) =>
          u.pathname === c.path ||
          (u.pathname.startsWith(c.path) &&
            (c.path.endsWith('/') || u.pathname[c.path.length] === '/')),
      )
      .sort((a, b) => b.path.length - a.path.length); // longer paths first, as browsers do
    return matches.length ? matches.map((c) => `${c.name}=${c.value}`).join('; ') : undefined;
  }

  /** The value of a cookie `url` would get, or undefined. */
  get(url: string | URL, name: string): string | undefined {
    const header = this.header(url) ?? '';
    for (const part of header.split('; ')) {
      const eq = part.indexOf('=');
      if (part.slice(0, eq) === name) return part.slice(eq + 1);
    }
    return undefined;
  }
}

export interface SignInAnswer {
  /** The URL whose answer this is (the broker's callback, unless the flow stopped earlier). */
  url: string;
  status: number;
  location?: string;
  setCookie: string[];
  text: string;
  /** Every URL requested, in order. */
  hops: string[];
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * GETs `startUrl` and follows redirects, keeping cookies, until a request matches `stopAt`
 * (answered, not followed) or an answer is not a redirect (a consent page, an error page).
 * `stopBefore` stops without requesting the URL (`status: 0`): a client's redirect_uri that
 * nothing listens on, whose query (code, state, iss) is all a test wants.
 */
export async function followRedirects(
  startUrl: string,
  options: {
    cookieJar?: CookieJar;
    stopAt?: (url: URL) => boolean;
    stopBefore?: (url: URL) => boolean;
    headers?: Record<string, string>;
    maxHops?: number;
  } = {},
): Promise<SignInAnswer> {
  const jar = options.cookieJar ?? new CookieJar();
  const hops: string[] = [];
  let url = new URL(startUrl);
  for (let hop = 0; hop < (options.maxHops ?? 20); hop++) {
    if (options.stopBefore?.(url)) {
      return { url: url.toString(), status: 0, setCookie: [], text: '', hops };
    }
    hops.push(url.toString());
    const cookie = jar.header(url);
    const res = await fetch(url, {
      redirect: 'manual',
      headers: { ...options.headers, ...(cookie ? { cookie } : {}) },
    });
    const setCookie = res.headers.getSetCookie();
    jar.store(url, setCookie);
    const location = res.headers.get('location') ?? undefined;
    const text = await res.text();
    const answer = { url: url.toString(), status: res.status, location, setCookie, text, hops };
    if (options.stopAt?.(url) || !REDIRECTS.has(res.status) || !location) return answer;
    url = new URL(location, url);
  }
  throw new Error(`followRedirects: more than ${options.maxHops ?? 20} hops: ${hops.join(' → ')}`);
}

/**
 * Follows a sign-in from the broker's `/auth/login?...` through the identity provider (which must
 * consent on its own: `consent: 'auto'`) back to the broker's `/auth/callback`, and returns the
 * callback's answer (its redirect is not followed). The same `cookieJar` carries the broker's
 * cookies into the callback and out to later requests.
 */
export async function followSignIn(
  startUrl: string,
  options: { cookieJar?: CookieJar; callbackPath?: string; headers?: Record<string, string> } = {},
): Promise<SignInAnswer> {
  const broker = new URL(startUrl).origin;
  const callbackPath = options.callbackPath ?? '/auth/callback';
  return followRedirects(startUrl, {
    cookieJar: options.cookieJar,
    headers: options.headers,
    stopAt: (u) => u.origin === broker && u.pathname === callbackPath,
  });
}
