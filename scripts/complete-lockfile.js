#!/usr/bin/env node
// `npm run lock:complete` — run after every `npm install` that changes package-lock.json.
//
// Some packages list one optional native binding per platform (jest 30's unrs-resolver). When
// the registry npm installs from lacks the bindings for other platforms, npm silently leaves
// them out of the lock, and `npm ci` then rejects that lock ("Missing: … from lock file").
// This adds the missing entries (marked optional, for their os/cpu), which npm ci accepts on
// any registry: an optional binding for another platform is never downloaded.
const fs = require('node:fs');

const file = process.argv[2] ?? 'package-lock.json';
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
const OS = new Set([
  'android',
  'darwin',
  'freebsd',
  'linux',
  'openharmony',
  'win32',
  'sunos',
  'aix',
  'netbsd',
  'openbsd',
]);
let added = 0;
for (const [path, meta] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(meta.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (lock.packages[key] || lock.packages[`${path}/${key}`]) continue;
    const parts = name.split('/').pop().split('-');
    const osIndex = parts.findIndex((p) => OS.has(p));
    const entry = { version, dev: meta.dev ?? undefined, optional: true };
    if (osIndex >= 0) {
      entry.os = [parts[osIndex]];
      if (parts[osIndex + 1]) entry.cpu = [parts[osIndex + 1]];
    } else if (parts.includes('wasm32')) {
      entry.cpu = ['wasm32'];
    }
    lock.packages[key] = entry;
    added++;
  }
}
const sorted = {};
for (const k of Object.keys(lock.packages).sort((a, b) =>
  a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0,
)) {
  sorted[k] = lock.packages[k];
}
lock.packages = sorted;
fs.writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
process.stdout.write(
  `complete-lockfile: added ${added} optional platform entr${added === 1 ? 'y' : 'ies'}\n`,
);
