import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

/** What the demo needs around the broker: a fresh build, its database, and child processes. */

export const ROOT = join(__dirname, '..', '..', '..');

/** Newest modification time under `dir` (files only), 0 when it does not exist. */
function newestMtime(dir: string): number {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/**
 * Why `dist/` must be rebuilt, or undefined when it is current: missing, or older than a source
 * file or the build configuration. (A build takes ~13 s on two cores; a check, milliseconds.)
 */
export function staleBuildReason(): string | undefined {
  const main = join(ROOT, 'dist', 'src', 'main.js');
  if (!existsSync(main) || !existsSync(join(ROOT, 'dist', 'src', 'worker.js')))
    return 'dist/ has no api or worker yet';
  const built = statSync(main).mtimeMs;
  const sources = Math.max(
    newestMtime(join(ROOT, 'src')),
    newestMtime(join(ROOT, 'migrations')),
    ...['tsconfig.json', 'tsconfig.build.json', 'package-lock.json'].map((f) =>
      existsSync(join(ROOT, f)) ? statSync(join(ROOT, f)).mtimeMs : 0,
    ),
  );
  return sources > built ? 'dist/ is older than src/' : undefined;
}

export function runBuild(): void {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`npm run build failed (exit ${result.status})`);
}

/**
 * The demo's database: DEMO_DATABASE_URL, else credential_broker_demo on the Postgres of
 * PGHOST/PGPORT/PGUSER (defaults 127.0.0.1, 5432, the current OS user: `root` on a CI machine).
 */
export function demoDatabaseUrl(env: NodeJS.ProcessEnv): string {
  if (env.DEMO_DATABASE_URL) return env.DEMO_DATABASE_URL;
  const user = encodeURIComponent(env.PGUSER ?? userInfo().username);
  const password = env.PGPASSWORD ? `:${encodeURIComponent(env.PGPASSWORD)}` : '';
  const host = env.PGHOST ?? '127.0.0.1';
  return `postgres://${user}${password}@${host}:${env.PGPORT ?? '5432'}/credential_broker_demo`;
}

/** Creates the database when it is missing; answers whether it already existed. */
export async function ensureDatabase(url: string): Promise<boolean> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!/^[A-Za-z0-9_]{1,63}$/.test(name)) throw new Error(`unexpected database name "${name}"`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount) return true;
    await client.query(`CREATE DATABASE "${name}"`);
    return false;
  } finally {
    await client.end();
  }
}

export interface Child {
  name: string;
  proc: ChildProcess;
  logPath: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

/** Runs `node <script>` with exactly `env`, its output appended to `logPath`. */
export function startChild(
  name: string,
  script: string,
  env: Record<string, string>,
  logPath: string,
  echo: boolean,
): Child {
  const proc = spawn(process.execPath, [script], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(logPath, { flags: 'a' });
  for (const stream of [proc.stdout, proc.stderr]) {
    stream?.pipe(log, { end: false });
    if (echo) stream?.on('data', (d: Buffer) => process.stdout.write(`[${name}] ${d.toString()}`));
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => {
      log.end();
      resolve({ code, signal });
    }),
  );
  return {
    name,
    proc,
    logPath,
    exited,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls `url` until it answers 200; fails when `child` exits first or after `timeoutMs`. */
export async function waitFor200(url: string, child: Child, timeoutMs = 60_000): Promise<void> {
  let gone = false;
  void child.exited.then(() => (gone = true));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (gone) throw new Error(`${child.name} exited before ${url} answered`);
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs / 1000} s`);
}

/** The last lines of a log file, for a message about a process that died. */
export function tail(path: string, lines = 30): string {
  if (!existsSync(path)) return '';
  return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}
