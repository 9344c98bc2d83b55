import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');
/** The build the e2e tests run; CBK_DIST_DIR lets parallel work build elsewhere (e.g. dist-gcp). */
export const DIST = join(ROOT, process.env.CBK_DIST_DIR ?? 'dist');

/**
 * Ports for the processes a test starts, from a range of this jest worker's own, below the
 * kernel's ephemeral range (32768+). Asking the kernel for a free port (listen on 0, close) let two
 * test files running at once be handed the same port: one api then failed to bind while its
 * harness, polling /health/live, was answered by the other file's api and tested the wrong broker.
 */
const WORKER_INDEX = (Number(process.env.JEST_WORKER_ID ?? '1') - 1) % 12;
const RANGE_START = 20_000 + WORKER_INDEX * 1_000;
const RANGE_SIZE = 1_000;
let nextPort = RANGE_START + Math.floor(Math.random() * RANGE_SIZE);

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  for (let tries = 0; tries < RANGE_SIZE; tries++) {
    const port = nextPort;
    nextPort = RANGE_START + ((nextPort - RANGE_START + 1) % RANGE_SIZE);
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port in ${RANGE_START}-${RANGE_START + RANGE_SIZE - 1}`);
}

export interface RunningProcess {
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or signal) once the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs a built entrypoint (`dist/src/<name>.js`) with exactly the given environment. */
export function runBuilt(
  entry: 'main' | 'worker' | 'cli',
  env: Record<string, string>,
  args: string[] = [],
): RunningProcess {
  const child = spawn(process.execPath, [join(DIST, 'src', `${entry}.js`), ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    child,
    output: () => output,
    exited,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Polls `url` until it answers `status`, or fails with the process output when it dies or times out. */
export async function waitForHttp(
  url: string,
  proc: RunningProcess,
  status = 200,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let dead = false;
  void proc.exited.then(() => (dead = true));
  while (Date.now() < deadline) {
    if (dead) throw new Error(`process exited before ${url} answered:\n${proc.output()}`);
    try {
      const res = await fetch(url);
      if (res.status === status) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms:\n${proc.output()}`);
}
