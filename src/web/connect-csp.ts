import { type AppConfig, OVH_REGIONS } from '../config/config';

/** Where the connect page lives; its assets are under `${CONNECT_PATH}/assets/`. */
export const CONNECT_PATH = '/connect';

export function isConnectPath(url: string): boolean {
  const path = url.split('?')[0] ?? url;
  return path === CONNECT_PATH || path.startsWith(`${CONNECT_PATH}/`);
}

/**
 * The connect page's policy: its own script and stylesheet only, no inline anything, no framing.
 * `form-action` names the enabled providers' consent pages as well, because Chrome applies it
 * to the redirect that follows a form POST (POST /connect/gcp → 303 → Google).
 */
export function connectPageCsp(config: Pick<AppConfig, 'gcp' | 'ovh'>): string {
  const origins = new Set<string>();
  const add = (url: string) => {
    try {
      origins.add(new URL(url).origin);
    } catch {
      // not a URL: nothing to allow
    }
  };
  if (config.gcp.enabled) add(config.gcp.authUrl);
  for (const region of OVH_REGIONS) {
    if (config.ovh.regions[region].enabled) add(config.ovh.regions[region].authUrl);
  }
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    ["form-action 'self'", ...origins].join(' '),
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}
