import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { DEMO_AZURE, DEMO_TAILSCALE } from '../../scripts/demo/emulators';
import { databaseUrl, withAdmin } from '../support/postgres';
import { ROOT, freePort } from '../support/processes';

/**
 * `npm run demo` as a newcomer runs it (SPEC issue: the embedded default): the compiled demo
 * script as a child process, on its own database, Redis prefix and free ports. It must refuse
 * production, come up ready, let the printed token and form values connect and read a token,
 * stop cleanly on Ctrl-C, and start again on the database it made.
 */

const SCRIPT = join(ROOT, 'dist-demo', 'scripts', 'demo', 'demo.js');
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

interface Demo {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

describe('npm run demo (e2e)', () => {
  const dbName = `cbk_demo_e2e_${randomBytes(4).toString('hex')}`;
  const prefix = `cbk_demo_e2e_${randomBytes(4).toString('hex')}`;
  const running: Demo[] = [];
  let apiPort: number;
  let workerPort: number;

  beforeAll(async () => {
    // What `npm run demo` does before it runs the script (the api itself is built already).
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.demo.json'], { cwd: ROOT, stdio: 'pipe' }); // prettier-ignore
    apiPort = await freePort();
    workerPort = await freePort();
  });

  afterAll(async () => {
    for (const demo of running) {
      if (demo.child.exitCode === null && demo.child.signalCode === null) demo.child.kill('SIGKILL'); // prettier-ignore
    }
    await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`));
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  function start(extra: Record<string, string> = {}): Demo {
    const child = spawn(process.execPath, [SCRIPT], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        PORT: String(apiPort),
        WORKER_HEALTH_PORT: String(workerPort),
        DEMO_BASE_PORT: '0',
        // dist/ is what the e2e run built: never rebuild it under the other test files' feet.
        DEMO_BUILD: 'never',
        DEMO_DATABASE_URL: databaseUrl(dbName),
        DEMO_REDIS_PREFIX: prefix,
        REDIS_URL,
        ...extra,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const demo = { child, output: () => output, exited };
    running.push(demo);
    return demo;
  }

  async function ready(demo: Demo, timeoutMs = 40_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let gone = false;
    void demo.exited.then(() => (gone = true));
    while (Date.now() < deadline) {
      const url = /^Demo ready: (\S+)$/m.exec(demo.output())?.[1];
      if (url) return url;
      if (gone) throw new Error(`the demo exited before it was ready:\n${demo.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the demo was not ready within ${timeoutMs} ms:\n${demo.output()}`);
  }

  async function call(path: string, token: string, body?: unknown) {
    const res = await fetch(`http://127.0.0.1:${apiPort}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  }

  const tokenOf = (demo: Demo) => /CBK_TOKEN=(\S+)/.exec(demo.output())?.[1] ?? '';

  it('refuses NODE_ENV=production before touching anything', async () => {
    const demo = start({ NODE_ENV: 'production' });
    expect(await demo.exited).toEqual({ code: 1, signal: null });
    expect(demo.output()).toMatch(/refusing to run with NODE_ENV=production/);
    const found = await withAdmin((c) =>
      c.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName]),
    );
    expect(found.rowCount).toBe(0);
  });

  it('comes up ready; the printed token and form values connect and read a token; Ctrl-C stops it', async () => {
    const demo = start();
    const connectUrl = await ready(demo);
    expect(connectUrl).toBe(`http://127.0.0.1:${apiPort}/connect`);
    expect(demo.output()).toMatch(new RegExp(`database ${dbName} created`));
    expect(demo.output()).toContain(DEMO_AZURE.client_secret);
    expect(demo.output()).toContain(DEMO_TAILSCALE.client_secret);

    expect((await fetch(`http://127.0.0.1:${apiPort}/health/ready`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${workerPort}/health/live`)).status).toBe(200);
    // Sign-in is on, with the GitHub emulator.
    const status = await fetch(`http://127.0.0.1:${apiPort}/auth/status`);
    expect(await status.json()).toMatchObject({ enabled: true, providers: ['github'] });
    const page = await fetch(connectUrl);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Sign in with GitHub');

    const token = tokenOf(demo);
    const tailscale = await call('/tailscale/connect', token, DEMO_TAILSCALE);
    expect(tailscale.status).toBe(201);
    const azure = await call('/azure/login', token, DEMO_AZURE);
    expect(azure.status).toBe(201);
    expect(azure.body).toMatchObject({ display_name: 'Demo subscription', status: 'active' });

    // Setup runs on the demo's worker against the Tailscale emulator.
    const id = String(tailscale.body.id);
    let setup = '';
    for (let i = 0; i < 100 && setup !== 'succeeded'; i++) {
      setup = String((await call(`/connections/${id}`, token)).body.setup_status);
      if (setup !== 'succeeded') await new Promise((r) => setTimeout(r, 100));
    }
    expect(setup).toBe('succeeded');
    const read = await call(`/connections/${String(azure.body.id)}/token`, token);
    expect(read.status).toBe(200);
    expect(read.body.access_token).toMatch(/^azat\./);

    demo.child.kill('SIGINT');
    expect(await demo.exited).toEqual({ code: 0, signal: null });
    await expect(fetch(`http://127.0.0.1:${apiPort}/health/live`)).rejects.toThrow();
  });

  it('starts again on the database it made, and the same emulator accounts update the same connections', async () => {
    const demo = start();
    await ready(demo);
    expect(demo.output()).toMatch(new RegExp(`database ${dbName} exists, reusing it`));
    expect(demo.output()).toMatch(/migrations already applied/);

    const token = tokenOf(demo);
    const before = (await call('/connections', token)).body.items as { provider: string }[];
    expect(before.map((c) => c.provider).sort()).toEqual(['azure', 'tailscale']);
    // The new run's Vault emulator is empty; connecting the same principal again refills it.
    const azure = await call('/azure/login', token, DEMO_AZURE);
    expect(azure.status).toBe(200);
    expect((await call(`/connections/${String(azure.body.id)}/token`, token)).status).toBe(200);

    demo.child.kill('SIGTERM');
    expect(await demo.exited).toEqual({ code: 0, signal: null });
  });
});
