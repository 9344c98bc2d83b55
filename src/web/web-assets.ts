import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The page's files, read once at boot from `assets/` beside this module (nest-cli copies them). */
export interface WebAsset {
  body: Buffer;
  contentType: string;
}

const CONTENT_TYPES = {
  'connect.css': 'text/css; charset=utf-8',
  'connect.js': 'text/javascript; charset=utf-8',
  // Named by every page, so browsers do not ask for /favicon.ico (a 404 in their console).
  'favicon.svg': 'image/svg+xml',
} as const;

export type WebAssetName = keyof typeof CONTENT_TYPES;

export const ASSET_CACHE_CONTROL = 'public, max-age=300';

export function loadWebAssets(dir = join(__dirname, 'assets')): Map<string, WebAsset> {
  const assets = new Map<string, WebAsset>();
  for (const [name, contentType] of Object.entries(CONTENT_TYPES)) {
    assets.set(name, { body: readFileSync(join(dir, name)), contentType });
  }
  return assets;
}
