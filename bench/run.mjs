// Token lifecycle benchmarks (npm run bench). Not part of npm test.
//
//   1. token read: GET /health/live, then GET /connections/:id/token (fresh token), on the same
//      api, each loaded by autocannon in its own process (bench/load.mjs), never from this one's
//      event loop → req/s, p50/p99, ratios token/bare (targets: req/s ≥ 0.5×, p99 ≤ 3×)
//   2. refresh fleet: N due connections, Google emulator with 20 ms latency, one worker →
//      time until all refreshed vs N × latency / REFRESH_CONCURRENCY (target ≤ 1.5×), duplicate
//      upstream refreshes (target 0), the worker's CPU per refresh (target ≤ 1 ms; by thread:
//      main, V8 helpers) and RSS (peak from /proc's VmHWM, and at ready). A first wave of
//      BENCH_FLEET_WARMUP connections is refreshed before, uncounted (its CPU per refresh is
//      reported as the cold figure), so the figures are those of a worker whose JIT is warm.
//   3. scale-out (bench/scale-out.mjs): two apis, then one and two workers at the same
//      REFRESH_CONCURRENCY → refreshes/s each, ratio (target ≥ 1.6×), per-worker share and CPU,
//      duplicate upstream refreshes (target 0), token reads through both apis (all 200, no
//      provider call from an api)
//   4. scheduler query: 100,000 connections, 1 % due → EXPLAIN plan (index scan) and tick query time
//
// Prints a table and writes bench/results.json. Traffic goes to 127.0.0.1 only.
// Options (env): CBK_DIST_DIR (default dist), BENCH_SECONDS (5), BENCH_CONCURRENCY (32),
// BENCH_FLEET (10000), BENCH_FLEET_WARMUP (1000), REFRESH_CONCURRENCY (10), BENCH_LATENCY_MS (20), REDIS_URL,
// TEST_DATABASE_URL (an admin URL; the bench creates and drops its own database),
// BENCH_TIMEOUT_SECONDS (1200: past that the bench cleans up and exits 1),
// BENCH_CPU_PROF=1 (run the api and the worker under node --cpu-prof, profiles written to
// BENCH_CPU_PROF_DIR, default bench/profiles; read them with bench/profile-summary.mjs),
// BENCH_NODE_FLAGS (more node flags for the api and the worker, space-separated: --trace-gc, say),
// BENCH_ONLY=token|fleet|scale_out (skip the other benches, for profiling one of them;
// results.json is then not written, except that scale_out replaces its own entry there).
// Scale-out: BENCH_SCALE_FLEET (3000), BENCH_SCALE_CONCURRENCY (2, its REFRESH_CONCURRENCY),
// BENCH_SCALE_READ_RATE (200 token reads/s per api).

import { execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scaleOutBench, scaleOutRows } from './scale-out.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const DIST = join(ROOT, process.env.CBK_DIST_DIR ?? 'dist');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const FLEET = Number(process.env.BENCH_FLEET ?? 10_000);
const WARMUP = Number(process.env.BENCH_FLEET_WARMUP ?? 1_000);
const REFRESH_CONCURRENCY = Number(process.env.REFRESH_CONCURRENCY ?? 10);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 20);
const TIMEOUT_SECONDS = Number(process.env.BENCH_TIMEOUT_SECONDS ?? 1200);
const WARMUP_SECONDS = 1;
const CPU_PROF = process.env.BENCH_CPU_PROF === '1';
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF_DIR ?? join(ROOT, 'bench', 'profiles');
const ONLY = process.env.BENCH_ONLY;
if (ONLY !== undefined && !['token', 'fleet', 'scale_out'].includes(ONLY)) {
  process.stderr.write(`BENCH_ONLY must be token, fleet or scale_out, not ${ONLY}\n`);
  process.exit(2);
}
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/postgres';
const JWT_SECRET = 'bench-only-hs256-secret-0123456789abcdef';
const GCP_SCOPES = [
  'openid',
  'https://www.googleapis.com/auth/userinfo.email',
  'https://www.googleapis.com/auth/cloud-platform',
];

const { Client } = require('pg');
const { Redis } = require('ioredis');
const { SignJWT } = require('jose');

// ---------------------------------------------------------------- the emulators (TypeScript)

/** Compiles the Google and Vault emulators from test/fakes to a temporary directory. */
function buildFakes() {
  const out = mkdtempSync(join(tmpdir(), 'cbk-bench-'));
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(
    process.execPath,
    [
      tsc,
      join(ROOT, 'test/fakes/google/fake-google.ts'),
      join(ROOT, 'test/fakes/vault/fake-vault.ts'),
      '--outDir',
      out,
      '--rootDir',
      ROOT,
      '--module',
      'commonjs',
      '--target',
      'ES2023',
      '--esModuleInterop',
      '--skipLibCheck',
      '--ignoreConfig',
      '--types',
      'node',
    ],
    { stdio: 'inherit' },
  );
  return {
    dir: out,
    google: require(join(out, 'test/fakes/google/fake-google.js')),
    vault: require(join(out, 'test/fakes/vault/fake-vault.js')),
  };
}

// ---------------------------------------------------------------- processes

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A node process with its output kept (the last 5 MB), and a stop that cannot hang. */
function spawnNode(args, env) {
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Chunks, joined only when asked for: re-slicing a 5 MB string per chunk of the api's request
  // log cost this process (and so the api, on 2 cores) real CPU under load.
  const chunks = [];
  let kept = 0;
  const keep = (d) => {
    chunks.push(d);
    kept += d.length;
    while (kept - chunks[0].length >= 5_000_000) kept -= chunks.shift().length;
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((r) => child.once('exit', r));
  // 'close' comes after 'exit' once the child's stdout and stderr have been read to the end.
  const closed = new Promise((r) => child.once('close', r));
  return {
    child,
    closed,
    output: () => Buffer.concat(chunks).toString().slice(-5_000_000),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

const run = (entry, env) =>
  spawnNode(
    [
      ...(CPU_PROF
        ? [
            '--cpu-prof',
            '--cpu-prof-dir',
            CPU_PROF_DIR,
            `--cpu-prof-name=${entry}-${Date.now()}.cpuprofile`,
          ]
        : []),
      ...(process.env.BENCH_NODE_FLAGS ? process.env.BENCH_NODE_FLAGS.split(' ') : []),
      join(DIST, 'src', `${entry}.js`),
    ],
    env,
  );

/** The worker's CPU seconds so far (user + system), from its own prom-client metric. */
async function cpuSeconds(port) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = /^process_cpu_seconds_total ([\d.e+-]+)/m.exec(text);
  if (!m) throw new Error('the worker exposes no process_cpu_seconds_total');
  return Number(m[1]);
}

/**
 * The worker's resident set now and its peak, in bytes: from /proc (Linux), which costs the
 * worker nothing, else from its /metrics (which runs the lifecycle gauges' query on every scrape,
 * and so adds to the CPU being measured).
 */
async function rssBytes(pid, port) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { rss: kb('VmRSS') * 1024, peak: kb('VmHWM') * 1024 };
  } catch {
    try {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return { rss: Number(/^process_resident_memory_bytes (\d+)/m.exec(text)?.[1] ?? 0) };
    } catch {
      return { rss: 0 }; // not up yet
    }
  }
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU seconds of the worker's threads by kind (Linux /proc; null elsewhere): its main thread, V8's
 * helper threads (concurrent and parallel GC, compilation), and the rest (libuv's pool, …).
 */
function threadCpuSeconds(pid) {
  try {
    const byKind = { main: 0, main_system: 0, v8_helpers: 0, other: 0 };
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const seconds = (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime
      const kind = tid === String(pid) ? 'main' : name.startsWith('V8') ? 'v8_helpers' : 'other';
      byKind[kind] += seconds;
      // Of the main thread's time, what the kernel spent for it (socket sends and receives).
      if (kind === 'main') byKind.main_system += Number(fields[12]) / CLK_TCK;
    }
    return byKind;
  } catch {
    return null;
  }
}

const IDLE_SAMPLE_MS = 5000;

/** Makes every not-yet-refreshed connection of the user due now. */
function makeDue(pg, userId) {
  return pg.query(
    `UPDATE connections SET next_attempt_at = now() - interval '1 second' WHERE user_id = $1 AND vault_version = 1`,
    [userId],
  );
}

/**
 * Polls every 200 ms until `count` of the user's connections have a refreshed version or
 * `timeoutMs` passes, calling `onPoll` with each count; answers the last count.
 */
async function waitRefreshed(pg, userId, count, timeoutMs, onPoll = async () => {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await pg.query(
      `SELECT count(*)::int AS n FROM connections WHERE user_id = $1 AND vault_version >= 2`,
      [userId],
    );
    const done = rows[0].n;
    await onPoll(done);
    if (done >= count || Date.now() >= deadline) return done;
    await sleep(200);
  }
}

/** Makes the user's `count` connections due and waits until all are refreshed: seconds and CPU. */
async function refreshWave(pg, pid, port, userId, count) {
  if (count === 0) return null;
  const cpuBefore = await cpuSeconds(port);
  const started = performance.now();
  await makeDue(pg, userId);
  const done = await waitRefreshed(pg, userId, count, 300_000);
  if (done < count) throw new Error(`${userId}: ${done} of ${count} refreshed`);
  const seconds = (performance.now() - started) / 1000;
  const cpu = (await cpuSeconds(port)) - cpuBefore;
  return {
    connections: count,
    seconds: round(seconds, 2),
    worker_cpu_ms_per_refresh_cold: round((cpu * 1000) / count, 3),
  };
}

/** The process's CPU seconds (all threads) from /proc, or null off Linux. */
function idleCpuSeconds(pid) {
  const t = threadCpuSeconds(pid);
  return t ? t.main + t.v8_helpers + t.other : null;
}

/** The worker's V8 heap (used and reserved), from its /metrics: what the RSS is made of. */
async function heapBytes(port) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const metric = (name) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return {
    used: metric('nodejs_heap_size_used_bytes'),
    total: metric('nodejs_heap_size_total_bytes'),
  };
}

async function waitFor(url, proc, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`process died:\n${proc.output()}`);
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // not yet
    }
    await sleep(100);
  }
  throw new Error(`${url} not ready:\n${proc.output()}`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- load

/**
 * A closed-loop load of `CONCURRENCY` connections for `seconds`, generated by autocannon in a
 * child process (bench/load.mjs), so this process's event loop is not the client's limit.
 * Throws if any request failed or answered other than 2xx: a bench that measures 401s is worthless.
 */
async function load(ctx, url, headers, seconds) {
  const spec = { url, headers, connections: CONCURRENCY, seconds };
  const proc = spawnNode([join(ROOT, 'bench', 'load.mjs'), JSON.stringify(spec)], {});
  ctx.processes.push(proc);
  const killer = setTimeout(() => proc.child.kill('SIGKILL'), (seconds + 60) * 1000);
  let stdout = '';
  proc.child.stdout.on('data', (d) => (stdout += d));
  const code = await proc.closed;
  clearTimeout(killer);
  ctx.processes.splice(ctx.processes.indexOf(proc), 1);
  if (code !== 0) throw new Error(`load generator exited ${code} for ${url}:\n${proc.output()}`);
  const { autocannon: a, latency_ms: latency } = JSON.parse(stdout);
  const ok = a['2xx'];
  if (a.errors > 0 || a.timeouts > 0 || a.non2xx > 0 || ok === 0) {
    throw new Error(
      `${url} under load: ${ok} 2xx, ${a.non2xx} non-2xx ${JSON.stringify(a.statusCodeStats)}, ` +
        `${a.errors} errors, ${a.timeouts} timeouts — the figures would not measure this route`,
    );
  }
  return {
    requests: a.requests.total,
    non2xx: a.non2xx,
    errors: a.errors,
    rps: Math.round(a.requests.average),
    p50_ms: latency.p50,
    p99_ms: latency.p99,
    max_ms: latency.max,
    duration_s: a.duration,
    // autocannon's own latency histogram (whole milliseconds), for reference
    autocannon_latency_ms: { p50: a.latency.p50, p99: a.latency.p99, average: a.latency.average },
  };
}

/** A short warm-up (JIT, pools, the token cache), then the measured run, for one route. */
async function measure(ctx, url, headers) {
  await load(ctx, url, headers, WARMUP_SECONDS);
  return load(ctx, url, headers, SECONDS);
}

const round = (n, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

// ---------------------------------------------------------------- database

async function admin(sql) {
  const c = new Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

function dbUrl(name) {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

async function migrate(url) {
  const { createDataSource } = require(join(DIST, 'src/database/data-source.js'));
  const { runMigrations } = require(join(DIST, 'src/database/migrations.js'));
  const ds = createDataSource(url);
  await ds.initialize();
  await runMigrations(ds);
  return ds;
}

/** Connections with a working Google grant and a version-1 secret in the fake Vault. */
async function seedGcp(pg, google, vault, count, expiresAt, nextAttemptAt, userId = 'bench-user') {
  const ids = [];
  for (let start = 0; start < count; start += 1000) {
    const values = [];
    const params = [];
    for (let i = start; i < Math.min(count, start + 1000); i++) {
      const id = randomUUID();
      ids.push(id);
      const grant = {
        clientId: google.clientId,
        account: { sub: `sub-${id}`, email: `${id}@example.com` },
        scopes: GCP_SCOPES,
        revoked: false,
      };
      const refreshToken = google.grants.newRefreshToken(grant);
      const accessToken = google.grants.newAccessToken(grant, 3600);
      vault.kv.write('secret', `credential-broker/connections/${id}`, {
        access_token: accessToken,
        refresh_token: refreshToken,
        token_type: 'Bearer',
        scope: GCP_SCOPES.join(' '),
      });
      const n = params.length;
      values.push(
        `($${n + 1}, $${n + 7}, 'gcp', $${n + 2}, 'active', 'succeeded', $${n + 3}, $${n + 4}, $${n + 5}, $${n + 6}, 1)`,
      );
      params.push(
        id,
        `${id}@example.com`,
        GCP_SCOPES,
        expiresAt,
        nextAttemptAt,
        `connections/${id}`,
        userId,
      );
    }
    await pg.query(
      `INSERT INTO connections (id, user_id, provider, account_ref, status, setup_status, scopes, expires_at, next_attempt_at, vault_path, vault_version) VALUES ${values.join(', ')}`,
      params,
    );
  }
  return ids;
}

// ---------------------------------------------------------------- the benches

async function tokenReadBench(ctx) {
  const [id] = await seedGcp(
    ctx.pg,
    ctx.google,
    ctx.vault,
    1,
    new Date(Date.now() + 3600_000),
    new Date(),
  );
  const jwt = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('bench-user')
    .setIssuer('https://auth.bench.example')
    .setAudience('credential-broker')
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(JWT_SECRET));
  const tokenUrl = `${ctx.api}/connections/${id}/token`;
  const auth = { authorization: `Bearer ${jwt}` };
  const check = await fetch(tokenUrl, { headers: auth });
  if (check.status !== 200)
    throw new Error(`token read answered ${check.status}: ${await check.text()}`);
  const health = await measure(ctx, `${ctx.api}/health/live`, {});
  const token = await measure(ctx, tokenUrl, auth);
  const refreshCalls = ctx.google.calls.filter((c) => c.form.grant_type === 'refresh_token').length;
  const ratio = round(token.rps / health.rps);
  const p99Ratio = round(token.p99_ms / health.p99_ms);
  return {
    load_generator: `autocannon ${require('autocannon/package.json').version}, own process`,
    concurrency: CONCURRENCY,
    seconds: SECONDS,
    warmup_seconds: WARMUP_SECONDS,
    health,
    token,
    ratio,
    target: 0.5,
    ratio_met: ratio >= 0.5,
    p99_ratio: p99Ratio,
    p99_target: 3,
    p99_ratio_met: p99Ratio <= 3,
    upstream_refreshes_during_reads: refreshCalls,
  };
}

async function fleetBench(ctx) {
  const seedStarted = Date.now();
  // Seeded in backoff (not yet due), so the worker can boot first; then one UPDATE makes the
  // whole fleet due at T0 — in the urgent half of the window (no spreading delay).
  const seed = (count, userId) =>
    seedGcp(
      ctx.pg,
      ctx.google,
      ctx.vault,
      count,
      new Date(Date.now() + 120_000),
      new Date(Date.now() + 3600_000),
      userId,
    );
  await seed(FLEET, 'bench-user');
  await seed(WARMUP, 'bench-warmup');
  const seedSeconds = (Date.now() - seedStarted) / 1000;
  const port = await freePort();
  const worker = run('worker', { ...ctx.env, WORKER_HEALTH_PORT: String(port) });
  ctx.processes.push(worker);
  await waitFor(`http://127.0.0.1:${port}/health/ready`, worker);
  const readyRss = (await rssBytes(worker.child.pid, port)).rss;
  ctx.google.latencyMs = LATENCY_MS;
  // A first wave, not counted: a worker that has been running has its refresh path compiled by
  // the JIT, while the first refreshes after boot pay for that (the cold figure is reported too).
  const warmup = await refreshWave(ctx.pg, worker.child.pid, port, 'bench-warmup', WARMUP);
  ctx.google.calls.length = 0;
  // CPU the worker spends idle (scheduler ticks, timers) per second, subtracted below so the
  // per-refresh figure is the refresh work alone (it is small next to the fleet's). Read from
  // /proc where there is one: a /metrics scrape costs the worker more than a second of idling.
  const idle0 = idleCpuSeconds(worker.child.pid) ?? (await cpuSeconds(port));
  await sleep(IDLE_SAMPLE_MS);
  const idle1 = idleCpuSeconds(worker.child.pid) ?? (await cpuSeconds(port));
  const idlePerSecond = ((idle1 - idle0) * 1000) / IDLE_SAMPLE_MS;
  const cpuBefore = await cpuSeconds(port);
  const threadsBefore = threadCpuSeconds(worker.child.pid);
  const started = performance.now();
  await makeDue(ctx.pg, 'bench-user');
  let maxRss = 0;
  const rss = async () => {
    maxRss = Math.max(maxRss, (await rssBytes(worker.child.pid, port)).rss);
  };
  let firstRefreshAt = 0;
  const done = await waitRefreshed(ctx.pg, 'bench-user', FLEET, 600_000, async (n) => {
    if (n > 0 && firstRefreshAt === 0) firstRefreshAt = performance.now();
    await rss();
  });
  const total = (performance.now() - started) / 1000;
  const cpuUsed = (await cpuSeconds(port)) - cpuBefore;
  const threadsAfter = threadCpuSeconds(worker.child.pid);
  const perRefreshByThread =
    threadsBefore && threadsAfter
      ? Object.fromEntries(
          Object.keys(threadsAfter).map((k) => [
            k,
            round(((threadsAfter[k] - threadsBefore[k]) * 1000) / Math.max(1, done), 3),
          ]),
        )
      : null;
  // The kernel's high-water mark covers any peak between two samples (Linux; else the samples).
  maxRss = Math.max(maxRss, (await rssBytes(worker.child.pid, port)).peak ?? 0);
  const heap = await heapBytes(port);
  const fromFirst = firstRefreshAt ? (performance.now() - firstRefreshAt) / 1000 : total;
  ctx.google.latencyMs = 0;
  const perToken = new Map();
  for (const c of ctx.google.calls) {
    if (c.path === '/token' && c.form.grant_type === 'refresh_token') {
      perToken.set(c.form.refresh_token, (perToken.get(c.form.refresh_token) ?? 0) + 1);
    }
  }
  const upstream = [...perToken.values()].reduce((a, b) => a + b, 0);
  const { rows: versions } = await ctx.pg.query(
    `SELECT max(vault_version)::int AS max FROM connections WHERE user_id = 'bench-user'`,
  );
  const ideal = (FLEET * LATENCY_MS) / 1000 / REFRESH_CONCURRENCY;
  if (process.env.BENCH_WORKER_LOG) writeFileSync(process.env.BENCH_WORKER_LOG, worker.output());
  await worker.stop();
  return {
    connections: FLEET,
    refreshed: done,
    latency_ms: LATENCY_MS,
    refresh_concurrency: REFRESH_CONCURRENCY,
    seed_seconds: round(seedSeconds, 1),
    seconds_from_due: round(total, 2),
    seconds_from_first_refresh: round(fromFirst, 2),
    ideal_seconds: round(ideal, 2),
    ratio_to_ideal: round(total / ideal),
    target_ratio: 1.5,
    upstream_refreshes: upstream,
    duplicate_upstream_refreshes: upstream - perToken.size,
    max_vault_version: versions[0].max,
    worker_max_rss_mb: round(maxRss / 1024 / 1024, 1),
    worker_rss_at_ready_mb: round(readyRss / 1024 / 1024, 1),
    worker_heap_mb_at_end: {
      used: round(heap.used / 2 ** 20, 1),
      total: round(heap.total / 2 ** 20, 1),
    },
    worker_cpu_seconds: round(cpuUsed, 2),
    worker_cpu_ms_per_refresh: round((cpuUsed * 1000) / Math.max(1, done), 3),
    worker_idle_cpu_ms_per_second: round(idlePerSecond * 1000, 1),
    worker_cpu_ms_per_refresh_net_of_idle: round(
      ((cpuUsed - idlePerSecond * total) * 1000) / Math.max(1, done),
      3,
    ),
    // Of the process's CPU per refresh, what each kind of thread spent (Linux only).
    worker_cpu_ms_per_refresh_by_thread: perRefreshByThread,
    refresh_target_cpu_ms: 1,
    warmup,
  };
}

async function schedulerQueryBench(ctx) {
  const total = 100_000;
  const due = total / 100;
  await ctx.pg.query(`DELETE FROM connections`);
  // 1 % due (expiring within the window), the rest hours away; a spread of statuses as in life.
  await ctx.pg.query(
    `INSERT INTO connections (user_id, provider, account_ref, status, setup_status, expires_at, next_attempt_at, vault_path, vault_version)
     SELECT 'u' || (g % 5000), 'gcp', 'acct-' || g,
            CASE WHEN g % 50 = 0 THEN 'needs_reauth' WHEN g % 97 = 0 THEN 'revoked' ELSE 'active' END,
            'succeeded',
            CASE WHEN g <= $1 THEN now() + interval '60 seconds' + (g || ' milliseconds')::interval
                 ELSE now() + interval '1 hour' + (g || ' seconds')::interval END,
            now() - interval '1 second', 'connections/bench-' || g, 1
       FROM generate_series(1, $2) AS g`,
    [due, total],
  );
  await ctx.pg.query('ANALYZE connections');
  const { RefreshStateRepository } = require(
    join(DIST, 'src/database/repositories/refresh-state.repository.js'),
  );
  const { ConnectionEntity } = require(join(DIST, 'src/database/entities/index.js'));
  const repo = new RefreshStateRepository(ctx.ds.getRepository(ConnectionEntity));
  const window = 300;
  const query = () => ({
    expiresBefore: new Date(Date.now() + window * 1000),
    now: new Date(),
    limit: 500,
  });
  const [sql, params] = repo.dueSql(query());
  const plan = (await ctx.ds.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params)).map(
    (r) => r['QUERY PLAN'],
  );
  const planText = plan.join('\n');
  // A tick's whole paging: every page of due rows, as the scheduler runs it.
  const runs = [];
  let found = 0;
  for (let i = 0; i < 5; i++) {
    const q = query();
    const t0 = performance.now();
    found = 0;
    let after;
    for (;;) {
      const page = await repo.findDue({ ...q, after });
      found += page.length;
      if (page.length < q.limit) break;
      after = page[page.length - 1]; // the last row is the exact keyset, as for the scheduler
    }
    runs.push(performance.now() - t0);
  }
  runs.sort((a, b) => a - b);
  const pageMs = /Execution Time: ([\d.]+) ms/.exec(planText);
  return {
    connections: total,
    due_rows_found: found,
    index_scan:
      /Index (Only )?Scan using "?IDX_connections_refresh_due|Bitmap Index Scan on "?IDX_connections_refresh_due/.test(
        planText,
      ),
    first_page_execution_ms: pageMs ? Number(pageMs[1]) : null,
    tick_query_ms_median: round(runs[Math.floor(runs.length / 2)]),
    plan,
  };
}

// ---------------------------------------------------------------- main

/** `promise`, or undefined after `ms`: no clean-up step may hang the exit. */
function within(ms, promise) {
  let timer;
  const timeout = new Promise((r) => (timer = setTimeout(r, ms)));
  return Promise.race([Promise.resolve(promise).catch(() => undefined), timeout]).finally(() =>
    clearTimeout(timer),
  );
}

async function main() {
  try {
    require.resolve('autocannon');
  } catch {
    throw new Error('autocannon is missing: run npm install (it is a dev dependency)');
  }
  const fakes = buildFakes();
  const dbName = `cbk_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  const redisPrefix = `cbk_bench_${randomBytes(4).toString('hex')}`;
  const ctx = { processes: [] };
  let cleaning;
  // Children killed, database dropped, Redis keys deleted, temp dir removed — once, each step
  // bounded, whether the bench ended, failed, timed out or was interrupted.
  const cleanup = () =>
    (cleaning ??= (async () => {
      await Promise.all(ctx.processes.map((p) => within(15_000, p.stop())));
      await within(5_000, ctx.google?.close());
      await within(5_000, ctx.vault?.close());
      await within(5_000, ctx.pg?.end());
      await within(5_000, ctx.ds?.destroy());
      await within(10_000, admin(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`));
      const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true });
      await within(
        5_000,
        (async () => {
          const keys = await redis.keys(`${redisPrefix}:*`);
          if (keys.length > 0) await redis.del(...keys);
        })(),
      );
      redis.disconnect();
      rmSync(fakes.dir, { recursive: true, force: true });
    })());
  const abort = (why, code) => {
    process.stderr.write(`\n${why}: cleaning up\n`);
    cleanup().finally(() => process.exit(code));
  };
  setTimeout(
    () => abort(`bench still running after ${TIMEOUT_SECONDS} s (BENCH_TIMEOUT_SECONDS)`, 1),
    TIMEOUT_SECONDS * 1000,
  ).unref();
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ]) {
    process.once(signal, () => abort(signal, code));
  }
  try {
    await admin(`CREATE DATABASE "${dbName}"`);
    ctx.ds = await migrate(dbUrl(dbName));
    ctx.pg = new Client({ connectionString: dbUrl(dbName) });
    await ctx.pg.connect();
    ctx.google = await fakes.google.startFakeGoogle();
    ctx.vault = await fakes.vault.startFakeVault();
    const port = await freePort();
    ctx.api = `http://127.0.0.1:${port}`;
    ctx.env = {
      NODE_ENV: 'production',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      HOST: '127.0.0.1',
      PORT: String(port),
      PUBLIC_URL: ctx.api,
      FRONTEND_URL: 'http://frontend.bench.example',
      DATABASE_URL: dbUrl(dbName),
      REDIS_URL,
      REDIS_PREFIX: redisPrefix,
      AUTH_JWT_SECRET: JWT_SECRET,
      AUTH_ISSUER: 'https://auth.bench.example',
      AUTH_AUDIENCE: 'credential-broker',
      VAULT_ADDR: ctx.vault.url,
      VAULT_TOKEN: ctx.vault.rootToken,
      REFRESH_WINDOW_SECONDS: '300',
      REFRESH_INTERVAL_SECONDS: '1',
      REFRESH_CONCURRENCY: String(REFRESH_CONCURRENCY),
      ...ctx.google.env(),
    };
    const api = run('main', ctx.env);
    ctx.processes.push(api);
    await waitFor(`${ctx.api}/health/live`, api);

    if (ONLY === undefined || ONLY === 'token') {
      process.stdout.write('token read …\n');
      const tokenRead = await tokenReadBench(ctx);
      if (ONLY === 'token') process.stdout.write(JSON.stringify(tokenRead, null, 2) + '\n');
      ctx.tokenRead = tokenRead;
    }
    await api.stop();
    if (ONLY === 'token') return;
    let fleet;
    if (ONLY === undefined || ONLY === 'fleet') {
      process.stdout.write(`refresh fleet (${FLEET}) …\n`);
      fleet = await fleetBench(ctx);
    }
    if (ONLY === 'fleet') {
      process.stdout.write(JSON.stringify(fleet, null, 2) + '\n');
      return;
    }
    process.stdout.write('scale-out …\n');
    const scaleOut = await scaleOutBench(ctx, {
      run,
      spawnNode,
      freePort,
      waitFor,
      seedGcp,
      sleep,
      round,
      latencyMs: LATENCY_MS,
    });
    if (ONLY === 'scale_out') {
      process.stdout.write(JSON.stringify(scaleOut, null, 2) + '\n\n');
      printRows(scaleOutRows(scaleOut));
      const file = join(ROOT, 'bench', 'results.json');
      const previous = JSON.parse(readFileSync(file, 'utf8'));
      const entry = { at: new Date().toISOString(), ...scaleOut };
      writeFileSync(file, JSON.stringify({ ...previous, scale_out: entry }, null, 2) + '\n');
      process.stdout.write(`\nscale_out written to bench/results.json\n`);
      return;
    }
    const tokenRead = ctx.tokenRead;
    process.stdout.write('scheduler query …\n');
    const scheduler = await schedulerQueryBench(ctx);

    const results = {
      at: new Date().toISOString(),
      node: process.version,
      cpus: (await import('node:os')).cpus().length,
      dist: DIST.slice(ROOT.length + 1),
      token_read: tokenRead,
      refresh_fleet: fleet,
      scale_out: scaleOut,
      scheduler_query: scheduler,
    };
    writeFileSync(join(ROOT, 'bench', 'results.json'), JSON.stringify(results, null, 2) + '\n');
    printTable(results);
  } finally {
    await cleanup();
  }
}

function printTable(r) {
  const t = r.token_read;
  const f = r.refresh_fleet;
  const s = r.scheduler_query;
  const ok = (b) => (b ? 'met' : 'not met');
  const figure = (x) =>
    `${x.rps} req/s, p50 ${x.p50_ms} ms, p99 ${x.p99_ms} ms, ${x.non2xx} non-2xx, ${x.errors} errors`;
  const rows = [
    ['benchmark', 'figure', 'target', ''],
    ['GET /health/live', figure(t.health), '', ''],
    ['GET /connections/:id/token', figure(t.token), '', ''],
    [
      'token / bare req/s',
      `${t.ratio} (autocannon, own process, c=${t.concurrency}, ${t.seconds}s each)`,
      '≥ 0.5',
      ok(t.ratio_met),
    ],
    ['token / bare p99', `${t.p99_ratio}`, '≤ 3', ok(t.p99_ratio_met)],
    [
      `refresh fleet (${f.connections})`,
      `${f.seconds_from_due} s (ideal ${f.ideal_seconds} s) = ${f.ratio_to_ideal}×, ` +
        `worker CPU ${f.worker_cpu_ms_per_refresh} ms per refresh`,
      '≤ 1.5×',
      ok(f.ratio_to_ideal <= 1.5 && f.refreshed === f.connections),
    ],
    [
      'duplicate upstream refreshes',
      `${f.duplicate_upstream_refreshes} (of ${f.upstream_refreshes})`,
      '0',
      ok(f.duplicate_upstream_refreshes === 0 && f.max_vault_version === 2),
    ],
    [
      'worker CPU per refresh',
      `${f.worker_cpu_ms_per_refresh} ms (${f.worker_cpu_seconds} s CPU for ${f.refreshed}; ` +
        `${f.worker_cpu_ms_per_refresh_net_of_idle} ms net of idle` +
        (f.warmup
          ? `; the ${f.warmup.connections} first after boot: ` +
            `${f.warmup.worker_cpu_ms_per_refresh_cold} ms)`
          : ')'),
      '≤ 1 ms',
      ok(f.worker_cpu_ms_per_refresh <= 1),
    ],
    [
      'worker RSS (max)',
      `${f.worker_max_rss_mb} MB (${f.worker_rss_at_ready_mb} MB when ready)`,
      '',
      '',
    ],
    ...scaleOutRows(r.scale_out),
    [
      'scheduler query plan',
      s.index_scan ? 'index scan on IDX_connections_refresh_due' : 'NO index scan',
      'index scan',
      ok(s.index_scan),
    ],
    [
      'tick query time',
      `${s.tick_query_ms_median} ms for ${s.due_rows_found} due of ${s.connections}`,
      '',
      '',
    ],
  ];
  printRows(rows);
  process.stdout.write(`\nwritten to bench/results.json\n`);
}

function printRows(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  for (const row of rows) {
    process.stdout.write(row.map((cell, i) => cell.padEnd(widths[i])).join('  ') + '\n');
  }
}

main().then(
  () => {
    // Everything is closed; should a handle linger anyway, do not let it hold the exit.
    setTimeout(() => {
      process.stderr.write(
        `bench: still open 5 s after clean-up: ${process.getActiveResourcesInfo()}; exiting\n`,
      );
      process.exit(0);
    }, 5_000).unref();
  },
  (err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exit(1);
  },
);
