import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import * as tls from 'node:tls';

/**
 * A private CA and a server certificate for 127.0.0.1/localhost, made with openssl on first use
 * and cached under test/.tmp/tls (valid ten years, so the cache never goes stale), so every test
 * file (and every api child process, through NODE_EXTRA_CA_CERTS) trusts the same CA. Azure's SDK refuses plain HTTP, so its emulator — and
 * OVH's, to keep the real scheme — serve TLS with this certificate.
 */
export interface TestCa {
  /** Path of the CA certificate (PEM) alone. */
  caPath: string;
  /**
   * The value for a child's NODE_EXTRA_CA_CERTS: the file this machine already trusts through
   * NODE_EXTRA_CA_CERTS (a registry's CA, say) followed by the test CA. Node reads one such
   * file, so it is appended to, never replaced.
   */
  extraCaCerts: string;
  ca: string;
  key: string;
  cert: string;
}

const ROOT = join(__dirname, '..', '..', '.tmp', 'tls');

function openssl(cwd: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

function generate(dir: string): void {
  openssl(
    dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '3650', '-subj', '/CN=cbk test CA',
    '-keyout', 'ca.key', '-out', 'ca.pem',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign',
  ); // prettier-ignore
  openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr'); // prettier-ignore
  writeFileSync(
    join(dir, 'ext.cnf'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  openssl(
    dir, 'x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-days', '3650', '-extfile', 'ext.cnf', '-out', 'server.pem',
  ); // prettier-ignore
}

export function testCa(): TestCa {
  const current = join(ROOT, 'current');
  if (!existsSync(join(current, 'server.pem'))) {
    mkdirSync(ROOT, { recursive: true });
    // Parallel jest workers may race here: each builds in its own directory and renames it into
    // place atomically; the loser's rename fails and it uses the winner's.
    const work = mkdtempSync(join(ROOT, 'gen-'));
    generate(work);
    try {
      renameSync(work, current);
    } catch {
      rmSync(work, { recursive: true, force: true });
    }
  }
  const ca = readFileSync(join(current, 'ca.pem'), 'utf8');
  const existing = process.env.NODE_EXTRA_CA_CERTS;
  let extraCaCerts = join(current, 'ca.pem');
  if (existing && existsSync(existing)) {
    extraCaCerts = join(
      current,
      `bundle-${createHash('sha256').update(existing).digest('hex').slice(0, 12)}.pem`,
    );
    writeFileSync(extraCaCerts, caBundle(existing, [ca]));
  }
  return {
    caPath: join(current, 'ca.pem'),
    extraCaCerts,
    ca,
    key: readFileSync(join(current, 'server.key'), 'utf8'),
    cert: readFileSync(join(current, 'server.pem'), 'utf8'),
  };
}

/**
 * One bundle for NODE_EXTRA_CA_CERTS: the file the caller already trusts (kept, never
 * replaced: Node reads only one such file) followed by the emulators' CAs.
 */
export function caBundle(existing: string | undefined, pems: string[]): string {
  const parts: string[] = [];
  if (existing && existsSync(existing)) parts.push(readFileSync(existing, 'utf8').trim());
  for (const pem of new Set(pems.map((p) => p.trim()))) parts.push(pem);
  return parts.join('\n') + '\n';
}

type TlsWithDefaultCa = typeof tls & {
  setDefaultCACertificates?: (certs: string[]) => void;
  getCACertificates?: (type: 'default') => string[];
};

/**
 * Makes this (jest) process trust the test CA, for in-process SDK calls: NODE_EXTRA_CA_CERTS is
 * read only at process start, so tests use Node's tls.setDefaultCACertificates (Node ≥ 22.19).
 */
export function trustTestCaInProcess(ca: TestCa = testCa()): void {
  const t = tls as TlsWithDefaultCa;
  if (!t.setDefaultCACertificates || !t.getCACertificates) {
    throw new Error('this Node has no tls.setDefaultCACertificates; run the tests on Node 24');
  }
  t.setDefaultCACertificates([...t.getCACertificates('default'), ca.ca]);
}
