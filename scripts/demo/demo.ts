import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import {
  DEMO_AZURE,
  DEMO_TAILSCALE,
  DEMO_USER,
  type RunningEmulator,
  closeEmulators,
  startEmulators,
} from './emulators';
import {
  type Child,
  ROOT,
  demoDatabaseUrl,
  ensureDatabase,
  runBuild,
  staleBuildReason,
  startChild,
  tail,
  waitFor200,
} from './local-services';
import { caBundle } from '../../test/fakes/tls/test-ca';

/**
 * `npm run demo`: the broker with every provider emulated, for a newcomer with only Postgres and
 * Redis. Builds when needed, migrates its own database, starts the emulators of test/fakes, the
 * api and the worker pointed at them, and prints what a person needs to try it. Ctrl-C stops it.
 *
 *   DEMO_DATABASE_URL   default postgres://$PGUSER@127.0.0.1:5432/credential_broker_demo
 *   REDIS_URL           default redis://127.0.0.1:6379 (keys under DEMO_REDIS_PREFIX, cbk_demo)
 *   PORT                the api (default 3000); WORKER_HEALTH_PORT the worker's probes (3001)
 *   DEMO_BASE_PORT      the emulators take this port and the next ones (default 4100; 0: any)
 *   DEMO_BUILD          auto (default: when dist/ is missing or older than src/), always, never
 *   DEMO_VERBOSE=1      echo the api and worker logs (else they go to files, printed at start)
 */

const JWT_ISSUER = 'https://demo.credential-broker.invalid';
const JWT_AUDIENCE = 'credential-broker';
const env = process.env;

function int(name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) fail(`${name} must be a port number, not "${raw}"`); // prettier-ignore
  return n;
}

function fail(message: string): never {
  process.stderr.write(`demo: ${message}\n`);
  process.exit(1);
}

const say = (line = '') => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  if (env.NODE_ENV === 'production') {
    fail(
      'refusing to run with NODE_ENV=production: the demo uses emulated providers, an in-memory Vault and secrets it prints',
    );
  }
  const apiPort = int('PORT', 3000);
  const workerPort = int('WORKER_HEALTH_PORT', 3001);
  const basePort = int('DEMO_BASE_PORT', 4100);
  const redisUrl = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redisPrefix = env.DEMO_REDIS_PREFIX ?? 'cbk_demo';
  const databaseUrl = demoDatabaseUrl(env);
  const publicUrl = `http://127.0.0.1:${apiPort}`;

  const build = env.DEMO_BUILD ?? 'auto';
  const stale = build === 'always' ? 'DEMO_BUILD=always' : staleBuildReason();
  if (build !== 'never' && stale) {
    say(`demo: building (${stale}) ...`);
    runBuild();
  }

  const dbName = new URL(databaseUrl).pathname.slice(1);
  const existed = await ensureDatabase(databaseUrl).catch(
    (err: Error) =>
    fail(`cannot reach Postgres for ${redact(databaseUrl)}: ${err.message}\n  (set DEMO_DATABASE_URL, or PGHOST/PGPORT/PGUSER/PGPASSWORD)`), // prettier-ignore
  );
  say(`demo: database ${dbName} ${existed ? 'exists, reusing it' : 'created'}`);

  const work = mkdtempSync(join(tmpdir(), 'cbk-demo-'));
  const echo = env.DEMO_VERBOSE === '1';
  const migrate = startChild('migrate', join(ROOT, 'dist/src/database/migrate.js'), { PATH: env.PATH ?? '', DATABASE_URL: databaseUrl }, join(work, 'migrate.log'), echo); // prettier-ignore
  const migrated = await migrate.exited;
  if (migrated.code !== 0) fail(`migrations failed:\n${tail(migrate.logPath)}`);
  const upToDate = /schema is up to date/.test(tail(migrate.logPath));
  say(`demo: migrations ${upToDate ? 'already applied' : 'applied'}`);

  let emulators: RunningEmulator[] = [];
  const children: Child[] = [];
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await Promise.allSettled(children.map((c) => c.stop()));
    await closeEmulators(emulators);
    if (code === 0) rmSync(work, { recursive: true, force: true });
    process.exit(code);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      say(`\ndemo: ${signal}, stopping the api, the worker and the emulators ...`);
      void shutdown(0);
    });
  }

  try {
    emulators = await startEmulators(basePort);
  } catch (err) {
    fail(`an emulator could not start (${(err as Error).message}); is DEMO_BASE_PORT=${basePort} and the next ports free?`); // prettier-ignore
  }
  const bundle = join(work, 'extra-ca-certs.pem');
  writeFileSync(bundle, caBundle(env.NODE_EXTRA_CA_CERTS, emulators.flatMap((e) => (e.caPem ? [e.caPem] : [])))); // prettier-ignore

  const emulatorEnv = Object.assign({}, ...emulators.map((e) => e.env)) as Record<string, string>;
  // Sign-in is on as soon as an emulator gives the GitHub app's credentials (see emulators.ts).
  const signIn = emulatorEnv.LOGIN_GITHUB_CLIENT_ID !== undefined;
  const jwtSecret = randomBytes(32).toString('hex');
  const brokerEnv: Record<string, string> = {
    PATH: env.PATH ?? '',
    ...(env.HOME ? { HOME: env.HOME } : {}),
    NODE_ENV: 'development',
    LOG_LEVEL: env.LOG_LEVEL ?? 'info',
    NODE_EXTRA_CA_CERTS: bundle,
    HOST: '127.0.0.1',
    PORT: String(apiPort),
    WORKER_HEALTH_PORT: String(workerPort),
    PUBLIC_URL: publicUrl,
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    REDIS_PREFIX: redisPrefix,
    // The demo's own callers: a JWT it signs (printed below) for curl and scripts.
    AUTH_JWT_SECRET: jwtSecret,
    AUTH_ISSUER: JWT_ISSUER,
    AUTH_AUDIENCE: JWT_AUDIENCE,
    SETUP_JOB_BACKOFF_MS: '1000',
    ...emulatorEnv,
    ...(signIn
      ? {
          LOGIN_PROVIDERS: 'github',
          LOGIN_ALLOWED_USERS: DEMO_USER.login,
          ADMIN_USERS: DEMO_USER.login,
        }
      : {}),
  };

  children.push(startChild('api', join(ROOT, 'dist/src/main.js'), brokerEnv, join(work, 'api.log'), echo)); // prettier-ignore
  children.push(startChild('worker', join(ROOT, 'dist/src/worker.js'), brokerEnv, join(work, 'worker.log'), echo)); // prettier-ignore
  for (const child of children) {
    void child.exited.then(({ code, signal }) => {
      if (stopping) return;
      process.stderr.write(`demo: the ${child.name} exited (${signal ?? code}); its last lines:\n${tail(child.logPath)}\n`); // prettier-ignore
      void shutdown(1);
    });
  }
  try {
    await Promise.all([
      waitFor200(`${publicUrl}/health/ready`, children[0]),
      waitFor200(`http://127.0.0.1:${workerPort}/health/live`, children[1]),
    ]);
  } catch (err) {
    if (stopping) return;
    process.stderr.write(`demo: ${(err as Error).message}\n`);
    for (const c of children) process.stderr.write(`--- ${c.logPath}\n${tail(c.logPath)}\n`);
    await shutdown(1);
  }

  const token = await new SignJWT({ name: DEMO_USER.name, email: DEMO_USER.email })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(DEMO_USER.userId)
    .setIssuer(JWT_ISSUER)
    .setAudience(JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('12h')
    .sign(new TextEncoder().encode(jwtSecret));

  printBanner({ publicUrl, signIn, token, emulators, work, redisPrefix, dbName });
  say(`Demo ready: ${publicUrl}/connect`);
}

function printBanner(o: {
  publicUrl: string;
  signIn: boolean;
  token: string;
  emulators: RunningEmulator[];
  work: string;
  redisPrefix: string;
  dbName: string;
}): void {
  const u = o.publicUrl;
  say();
  say('Credential broker demo. Every provider below is an emulator: no real account is used,');
  say('and every value printed here is valid only against them.');
  say();
  say(`  Connect page   ${u}/connect`);
  if (o.signIn) {
    say(`  Sign in        with GitHub as "${DEMO_USER.login}" (${DEMO_USER.email}); click Authorize on the emulated GitHub consent page`); // prettier-ignore
  } else {
    say('  Sign in        not wired yet (no GitHub emulator in scripts/demo/emulators.ts):');
    say('                 use the API with the bearer token below');
  }
  say('  Google Cloud   "Connect Google Cloud": the emulator consents as demo@example.com;');
  say('                 setup then enables APIs and makes service accounts in its demo projects');
  say('  OVHcloud       "Connect OVHcloud" (EU): the emulator consents as demo42-ovh');
  say('  Azure form     tenant id       ' + DEMO_AZURE.tenant_id + '  (or demo.onmicrosoft.com)'); // prettier-ignore
  say('                 client id       ' + DEMO_AZURE.client_id);
  say('                 client secret   ' + DEMO_AZURE.client_secret);
  say('  Tailscale form client id       ' + DEMO_TAILSCALE.client_id);
  say('                 client secret   ' + DEMO_TAILSCALE.client_secret);
  say('                 tailnet         - (or ' + DEMO_TAILSCALE.tailnet + ')');
  say();
  say(`  The API as ${DEMO_USER.userId} (the signed-in demo user; valid 12 h, this run only):`);
  say(`    export CBK_TOKEN=${o.token}`);
  say(`    curl -s -H "Authorization: Bearer $CBK_TOKEN" ${u}/connections`);
  say(`    curl -s -H "Authorization: Bearer $CBK_TOKEN" ${u}/connections/<id>/token`);
  say(`    curl -s -H "Authorization: Bearer $CBK_TOKEN" -H 'content-type: application/json' \\`);
  say(`      -d '${JSON.stringify(DEMO_TAILSCALE)}' ${u}/tailscale/connect`);
  say(`  API docs       ${u}/docs`);
  say();
  say('  Emulators');
  for (const e of o.emulators) say(`    ${e.name.padEnd(30)} ${e.url}`);
  say(`  Logs           ${join(o.work, 'api.log')}, ${join(o.work, 'worker.log')}`);
  say(`  State          database ${o.dbName}, Redis keys ${o.redisPrefix}:*; the emulators (Vault too)`); // prettier-ignore
  say('                 keep theirs in memory: after a restart, connect an account again');
  say();
  say('Ctrl-C stops everything.');
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

main().catch((err: unknown) => fail(err instanceof Error ? (err.stack ?? err.message) : String(err))); // prettier-ignore
