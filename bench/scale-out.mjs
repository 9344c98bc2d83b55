// Scale-out, measured (bench scenario 3 of run.mjs; BENCH_ONLY=scale_out runs it alone).
//
// One Postgres database, one Redis, one Vault emulator, one Google emulator answering every token
// call after BENCH_LATENCY_MS; two api processes from dist/, and first one, then two worker
// processes, all with the same REFRESH_CONCURRENCY (BENCH_SCALE_CONCURRENCY). Each run seeds
// BENCH_SCALE_FLEET fresh GCP connections in backoff, boots its workers, makes the fleet due with
// one UPDATE (urgent half of the window: no jitter) and times it from that UPDATE until the last
// row was refreshed. Meanwhile autocannon, in two processes of its own (bench/load.mjs), reads a
// token through each api at BENCH_SCALE_READ_RATE req/s.
//
// Checked per run: every connection refreshed; every seeded refresh token sent to Google exactly
// once and no other refresh call; every row at vault version 2 in Postgres and in the Vault
// emulator; each worker did at least MIN_SHARE of the refreshes (2-worker run); every read
// answered 200; no api process called Google. Which process made a call is told apart by a query
// parameter on each process's GCP_TOKEN_URL (`/token?via=worker-2`): the emulator routes on the
// path and records the query, so the tag costs nothing and cannot be forged by another process.
// Each worker's refreshes are also read from its own broker_token_refreshes_total, and its CPU
// from process_cpu_seconds_total, so the report shows whether a worker was CPU-bound: the claim
// is that throughput grows with workers at the same concurrency, which only holds where the
// provider's latency (not this machine's cores) limits one worker — hence the low default
// concurrency: one worker at 2 provider calls in flight × 20 ms tops out near 100 refreshes/s,
// about a quarter of a core at ~2.5 ms of CPU per refresh.

import { loadavg } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const { SignJWT } = require('jose');

const FLEET = Number(process.env.BENCH_SCALE_FLEET ?? 3000);
const CONCURRENCY = Number(process.env.BENCH_SCALE_CONCURRENCY ?? 2);
const READ_RATE = Number(process.env.BENCH_SCALE_READ_RATE ?? 200);
const READ_CONNECTIONS = 4;
/** 2-worker rate / 1-worker rate at the same REFRESH_CONCURRENCY. */
const TARGET_RATIO = 1.6;
/** Each worker's least share of the refreshes in the 2-worker run. */
const MIN_SHARE = 0.25;
const DRAIN_TIMEOUT_MS = 600_000;
for (const [name, value] of [
  ['BENCH_SCALE_FLEET', FLEET],
  ['BENCH_SCALE_CONCURRENCY', CONCURRENCY],
  ['BENCH_SCALE_READ_RATE', READ_RATE],
]) {
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`${name} must be a whole number ≥ 1, not ${process.env[name]}`);
  }
}
const KV_MOUNT = 'secret';
const kvPath = (id) => `credential-broker/connections/${id}`;

/** Sum of a Prometheus counter's samples whose labels include `labels`. */
function metricSum(text, name, labels = {}) {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    if (Object.entries(labels).some(([k, v]) => !(m[2] ?? '').includes(`${k}="${v}"`))) continue;
    sum += Number(m[3]);
  }
  return sum;
}

async function scrape(port) {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics on port ${port} answered ${res.status}`);
  return res.text();
}

/** Takes a process this scenario stopped off run.mjs's clean-up list. */
function forget(ctx, proc) {
  const i = ctx.processes.indexOf(proc);
  if (i >= 0) ctx.processes.splice(i, 1);
}

const cpu = async (port) => metricSum(await scrape(port), 'process_cpu_seconds_total');

/**
 * autocannon (bench/load.mjs) reading one token through one api at `READ_RATE` req/s until
 * stopped; stop() ends it (SIGTERM: load.mjs still prints its result) and returns the figures.
 */
function startReads(ctx, t, api, tokenUrl, headers) {
  const spec = {
    url: tokenUrl,
    headers,
    connections: READ_CONNECTIONS,
    seconds: 900,
    rate: READ_RATE,
  };
  const proc = t.spawnNode([join(HERE, 'load.mjs'), JSON.stringify(spec)], {});
  ctx.processes.push(proc);
  let stdout = '';
  proc.child.stdout.on('data', (d) => (stdout += d));
  return {
    stop: async () => {
      proc.child.kill('SIGTERM');
      const killer = setTimeout(() => proc.child.kill('SIGKILL'), 30_000);
      const code = await proc.closed;
      clearTimeout(killer);
      forget(ctx, proc);
      if (code !== 0)
        throw new Error(`load generator for ${api.name} exited ${code}:\n${proc.output()}`);
      const { autocannon: a, latency_ms: latency } = JSON.parse(stdout);
      const codes = Object.fromEntries(
        Object.entries(a.statusCodeStats ?? {}).map(([status, s]) => [status, s.count]),
      );
      return {
        api: api.name,
        requests: a.requests.total,
        status_codes: codes,
        ok_200: codes['200'] ?? 0,
        errors: a.errors,
        timeouts: a.timeouts,
        rps: Math.round(a.requests.average),
        p50_ms: latency.p50,
        p99_ms: latency.p99,
        max_ms: latency.max,
        all_200:
          a.requests.total > 0 &&
          codes['200'] === a.requests.total &&
          a.errors === 0 &&
          a.timeouts === 0,
      };
    },
  };
}

/** One run: fresh fleet, `workers` worker processes, drained while both apis serve reads. */
async function drain(ctx, t, env, apis, auth, workers) {
  const tag = (name) => `${ctx.google.url}/token?via=${name}`;
  await ctx.pg.query('DELETE FROM connections');
  // Seeded in backoff (not yet due) so the workers boot first, as in the fleet scenario.
  const ids = await t.seedGcp(
    ctx.pg,
    ctx.google,
    ctx.vault,
    FLEET,
    new Date(Date.now() + 120_000),
    new Date(Date.now() + 3600_000),
  );
  const tokenOf = new Map();
  for (const id of ids) {
    tokenOf.set(id, ctx.vault.kv.get(KV_MOUNT, kvPath(id)).versions.get(1).data.refresh_token);
  }
  // One token to read per api, valid for an hour: outside the refresh window, so a read that
  // called Google would be the api's doing, not the fleet's.
  const readers = await t.seedGcp(
    ctx.pg,
    ctx.google,
    ctx.vault,
    apis.length,
    new Date(Date.now() + 3600_000),
    new Date(Date.now() + 3600_000),
  );

  const procs = [];
  for (let i = 1; i <= workers; i++) {
    const name = `worker-${i}`;
    const port = await t.freePort();
    const proc = t.run('worker', {
      ...env,
      WORKER_HEALTH_PORT: String(port),
      GCP_TOKEN_URL: tag(name),
    });
    ctx.processes.push(proc);
    procs.push({ name, port, proc });
  }
  await Promise.all(procs.map((w) => t.waitFor(`http://127.0.0.1:${w.port}/health/ready`, w.proc)));

  const urls = apis.map((a, i) => `${a.url}/connections/${readers[i]}/token`);
  for (const [i, url] of urls.entries()) {
    const res = await fetch(url, { headers: auth });
    if (res.status !== 200)
      throw new Error(`${apis[i].name}: token read answered ${res.status}: ${await res.text()}`);
  }
  ctx.google.calls.length = 0;
  const loads = apis.map((a, i) => startReads(ctx, t, a, urls[i], auth));
  let reads;
  try {
    await t.sleep(1000); // the reads are under way before the fleet is due
    ctx.google.latencyMs = t.latencyMs;
    const cpu0 = await Promise.all([...procs, ...apis].map((p) => cpu(p.port)));
    const bench0 = process.cpuUsage();
    const load0 = loadavg()[0];
    const wall0 = performance.now();
    const {
      rows: [due],
    } = await ctx.pg.query(
      `WITH due AS (UPDATE connections SET next_attempt_at = now() - interval '1 second'
                     WHERE id = ANY($1::uuid[]) RETURNING id)
       SELECT now() AS t0, (SELECT count(*)::int FROM due) AS n`,
      [ids],
    );
    if (due.n !== FLEET) throw new Error(`made ${due.n} of ${FLEET} connections due`);
    let done = 0;
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const { rows } = await ctx.pg.query(
        `SELECT count(*)::int AS n FROM connections WHERE id = ANY($1::uuid[]) AND vault_version >= 2`,
        [ids],
      );
      done = rows[0].n;
      if (done >= FLEET) break;
      await t.sleep(100);
    }
    const wall = (performance.now() - wall0) / 1000;
    const cpu1 = await Promise.all([...procs, ...apis].map((p) => cpu(p.port)));
    const bench1 = process.cpuUsage(bench0);
    const load1 = loadavg()[0];
    reads = await Promise.all(loads.map((l) => l.stop()));
    ctx.google.latencyMs = 0;

    // From the UPDATE's own timestamp to the last row's last_refreshed_at (set by the worker
    // that refreshed it): the same clock, no polling granularity in the figure.
    const {
      rows: [span],
    } = await ctx.pg.query(
      `SELECT extract(epoch FROM max(last_refreshed_at) - $2::timestamptz)::float8 AS last,
              extract(epoch FROM min(last_refreshed_at) - $2::timestamptz)::float8 AS first,
              min(vault_version)::int AS min_version, max(vault_version)::int AS max_version
         FROM connections WHERE id = ANY($1::uuid[])`,
      [ids, due.t0],
    );
    const perToken = new Map();
    const callsBy = new Map();
    for (const c of ctx.google.calls) {
      const via = c.query.via ?? '(untagged)';
      callsBy.set(via, (callsBy.get(via) ?? 0) + 1);
      if (c.path === '/token' && c.form.grant_type === 'refresh_token') {
        perToken.set(c.form.refresh_token, (perToken.get(c.form.refresh_token) ?? 0) + 1);
      }
    }
    const upstream = [...perToken.values()].reduce((a, b) => a + b, 0);
    const seeded = new Set(tokenOf.values());
    const everyTokenOnce =
      ids.every((id) => perToken.get(tokenOf.get(id)) === 1) &&
      [...perToken.keys()].every((token) => seeded.has(token));
    const vaultAtTwo = ids.every(
      (id) => ctx.vault.kv.get(KV_MOUNT, kvPath(id))?.currentVersion === 2,
    );

    const workerMetrics = await Promise.all(procs.map((w) => scrape(w.port)));
    const apiMetrics = await Promise.all(apis.map((a) => scrape(a.port)));
    const seconds = span.last;
    const perWorker = procs.map((w, i) => {
      const refreshes = ctx.google.calls.filter(
        (c) =>
          c.query.via === w.name && c.path === '/token' && c.form.grant_type === 'refresh_token',
      ).length;
      const cpuSeconds = cpu1[i] - cpu0[i];
      const success = { outcome: 'success' };
      const underLock = (suffix) =>
        metricSum(workerMetrics[i], `broker_token_refresh_duration_seconds_${suffix}`, success);
      return {
        worker: w.name,
        upstream_refreshes: refreshes,
        successes_in_its_metrics: metricSum(workerMetrics[i], 'broker_token_refreshes_total', {
          outcome: 'success',
        }),
        share: t.round(refreshes / Math.max(1, upstream), 3),
        // Mean time of a refresh under its lock, from the worker's own histogram: Vault read,
        // provider call, Vault write, Postgres. A provider-call slot is held from before the lock
        // to the end of the call, so one worker does at most about slots / this per second.
        refresh_ms_mean: t.round((underLock('sum') * 1000) / Math.max(1, underLock('count')), 1),
        cpu_seconds: t.round(cpuSeconds, 2),
        cpu_cores: t.round(cpuSeconds / wall, 2),
        cpu_ms_per_refresh: t.round((cpuSeconds * 1000) / Math.max(1, refreshes), 3),
      };
    });
    const perApi = apis.map((a, i) => ({
      api: a.name,
      provider_calls: callsBy.get(a.name) ?? 0,
      refreshes_in_its_metrics: metricSum(apiMetrics[i], 'broker_token_refreshes_total'),
      cpu_cores: t.round((cpu1[procs.length + i] - cpu0[procs.length + i]) / wall, 2),
    }));
    const rate = done / seconds;
    const providerBound = (workers * CONCURRENCY * 1000) / t.latencyMs;
    const result = {
      workers,
      connections: FLEET,
      refreshed: done,
      seconds_from_due: t.round(seconds, 2),
      seconds_first_to_last_refresh: t.round(span.last - span.first, 2),
      refreshes_per_s: t.round(rate, 1),
      provider_bound_per_s: providerBound,
      share_of_provider_bound: t.round(rate / providerBound, 2),
      upstream_refreshes: upstream,
      duplicate_upstream_refreshes: upstream - perToken.size,
      every_token_refreshed_once: everyTokenOnce,
      min_vault_version: span.min_version,
      max_vault_version: span.max_version,
      vault_emulator_all_at_version_2: vaultAtTwo,
      untagged_provider_calls: callsBy.get('(untagged)') ?? 0,
      per_worker: perWorker,
      per_api: perApi,
      reads,
      bench_process_cpu_cores: t.round((bench1.user + bench1.system) / 1e6 / wall, 2),
      load_average_1m: { before: t.round(load0), after: t.round(load1) },
    };
    return result;
  } finally {
    ctx.google.latencyMs = 0;
    if (reads === undefined) await Promise.all(loads.map((l) => l.stop().catch(() => undefined)));
    for (const w of procs) {
      await w.proc.stop();
      forget(ctx, w.proc);
    }
  }
}

/**
 * The scenario. `t` is run.mjs's toolbox: run, spawnNode, freePort, waitFor, seedGcp, sleep,
 * round, latencyMs. Every process it starts is in ctx.processes until it stopped it, so run.mjs's
 * clean-up ends them (and drops the database) whatever happens here.
 */
export async function scaleOutBench(ctx, t) {
  const env = { ...ctx.env, REFRESH_CONCURRENCY: String(CONCURRENCY) };
  const apis = [];
  for (const name of ['api-1', 'api-2']) {
    const port = await t.freePort();
    // One PUBLIC_URL for both, as replicas behind one address.
    const proc = t.run('main', {
      ...env,
      PORT: String(port),
      GCP_TOKEN_URL: `${ctx.google.url}/token?via=${name}`,
    });
    ctx.processes.push(proc);
    apis.push({ name, port, url: `http://127.0.0.1:${port}`, proc });
  }
  try {
    await Promise.all(apis.map((a) => t.waitFor(`${a.url}/health/ready`, a.proc)));
    const jwt = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('bench-user')
      .setIssuer(env.AUTH_ISSUER)
      .setAudience(env.AUTH_AUDIENCE)
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(env.AUTH_JWT_SECRET));
    const auth = { authorization: `Bearer ${jwt}` };
    process.stdout.write(`  1 worker …\n`);
    const one = await drain(ctx, t, env, apis, auth, 1);
    process.stdout.write(`  2 workers …\n`);
    const two = await drain(ctx, t, env, apis, auth, 2);
    const runs = [one, two];
    const ratio = t.round(two.refreshes_per_s / one.refreshes_per_s);
    const checks = {
      ratio_met: ratio >= TARGET_RATIO,
      all_refreshed: runs.every((r) => r.refreshed === FLEET),
      no_duplicates: runs.every(
        (r) =>
          r.duplicate_upstream_refreshes === 0 &&
          r.every_token_refreshed_once &&
          r.upstream_refreshes === FLEET &&
          r.min_vault_version === 2 &&
          r.max_vault_version === 2 &&
          r.vault_emulator_all_at_version_2,
      ),
      both_workers_worked: two.per_worker.every((w) => w.share >= MIN_SHARE),
      reads_all_200: runs.every((r) => r.reads.every((l) => l.all_200)),
      apis_never_called_provider: runs.every(
        (r) =>
          r.untagged_provider_calls === 0 &&
          r.per_api.every((a) => a.provider_calls === 0 && a.refreshes_in_its_metrics === 0),
      ),
    };
    return {
      apis: apis.length,
      connections: FLEET,
      latency_ms: t.latencyMs,
      refresh_concurrency: CONCURRENCY,
      read_rate_per_api: READ_RATE,
      read_connections_per_api: READ_CONNECTIONS,
      refreshes_per_s_1_worker: one.refreshes_per_s,
      refreshes_per_s_2_workers: two.refreshes_per_s,
      ratio,
      target_ratio: TARGET_RATIO,
      min_share_per_worker: MIN_SHARE,
      duplicate_upstream_refreshes:
        one.duplicate_upstream_refreshes + two.duplicate_upstream_refreshes,
      ...checks,
      passed: Object.values(checks).every(Boolean),
      one_worker: one,
      two_workers: two,
    };
  } finally {
    for (const a of apis) {
      await a.proc.stop();
      forget(ctx, a.proc);
    }
  }
}

/** Rows for run.mjs's table. */
export function scaleOutRows(s) {
  const ok = (b) => (b ? 'met' : 'not met');
  const cores = (r) =>
    `${r.per_worker.map((w) => w.cpu_cores).join(' + ')} cores, ` +
    `${r.per_worker.map((w) => w.refresh_ms_mean).join(' / ')} ms per refresh under the lock`;
  const reads = [...s.one_worker.reads, ...s.two_workers.reads];
  const readTotal = reads.reduce((n, l) => n + l.requests, 0);
  const read200 = reads.reduce((n, l) => n + l.ok_200, 0);
  const apiCalls = [...s.one_worker.per_api, ...s.two_workers.per_api].reduce(
    (n, a) => n + a.provider_calls + a.refreshes_in_its_metrics,
    0,
  );
  return [
    [
      `scale-out: ${s.connections} due × ${s.latency_ms} ms, REFRESH_CONCURRENCY ${s.refresh_concurrency}, 2 apis`,
      `1 worker ${s.refreshes_per_s_1_worker}/s, 2 workers ${s.refreshes_per_s_2_workers}/s = ${s.ratio}×`,
      `≥ ${s.target_ratio}×`,
      ok(s.ratio_met && s.all_refreshed),
    ],
    [
      'scale-out: share per worker (2 workers)',
      s.two_workers.per_worker.map((w) => `${w.worker} ${Math.round(w.share * 100)} %`).join(', '),
      `≥ ${s.min_share_per_worker * 100} % each`,
      ok(s.both_workers_worked),
    ],
    [
      'scale-out: worker CPU, refresh time',
      `1 worker ${cores(s.one_worker)}; 2 workers ${cores(s.two_workers)}`,
      '',
      '',
    ],
    [
      'scale-out: duplicate upstream refreshes',
      `${s.duplicate_upstream_refreshes} (of ${s.one_worker.upstream_refreshes + s.two_workers.upstream_refreshes}); each token once, Vault v2`,
      '0',
      ok(s.no_duplicates),
    ],
    [
      'scale-out: token reads via both apis',
      `${read200} × 200 of ${readTotal}; ${apiCalls} provider calls from the apis`,
      'all 200, 0',
      ok(s.reads_all_200 && s.apis_never_called_provider),
    ],
  ];
}
