import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { type AuditInput, type AuditService } from '../../../../src/audit/audit.service';
import { type ConnectionChanges } from '../../../../src/lifecycle/connection-changes';
import { ConnectionEntity } from '../../../../src/database/entities';
import {
  type RefreshStateRepository,
  type RefreshFailure,
  type RefreshSuccess,
} from '../../../../src/database/repositories/refresh-state.repository';
import { LifecycleMetrics } from '../../../../src/lifecycle/lifecycle-metrics';
import { RedisLock } from '../../../../src/lifecycle/redis-lock';
import { type RefreshOutcome } from '../../../../src/lifecycle/refresh/refresh-outcome';
import { RefreshReporter } from '../../../../src/lifecycle/refresh/refresh-reporter';
import { RefreshService } from '../../../../src/lifecycle/refresh/refresh.service';
import { TokenCache } from '../../../../src/lifecycle/token-cache';
import { MetricsService } from '../../../../src/metrics/metrics.service';
import {
  type CredentialProvider,
  ProviderError,
  type TokenGrant,
} from '../../../../src/providers/provider';
import { type ProviderRegistry } from '../../../../src/providers/provider-registry';
import { type UpstreamCleanup } from '../../../../src/providers/provider';
import { type SecretData } from '../../../../src/secrets/secret-store';
import { InMemorySecretStore } from '../../../support/in-memory-secret-store';
import { RecordingOutbox } from '../../../support/recording-outbox';
import { testConfig } from '../../../support/test-config';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** The repository's guarded writes, in memory. */
class MemoryConnections {
  readonly rows = new Map<string, ConnectionEntity>();
  findForRefresh = async (id: string) => {
    const row = this.rows.get(id);
    return row ? Object.assign(new ConnectionEntity(), structuredClone(row)) : null;
  };
  recordSuccess = async (id: string, s: RefreshSuccess) => {
    const row = this.rows.get(id);
    if (!row || row.vaultVersion >= s.vaultVersion) return null;
    const previousStatus = row.status;
    Object.assign(row, {
      status: 'active',
      expiresAt: s.expiresAt,
      scopes: s.scopes,
      vaultVersion: s.vaultVersion,
      lastRefreshedAt: s.refreshedAt,
      refreshFailures: 0,
      lastErrorCode: null,
    });
    return { previousStatus, row: { ...row } };
  };
  recordFailure = async (id: string, seen: number, f: RefreshFailure) => {
    const row = this.rows.get(id);
    if (!row || row.vaultVersion !== seen) return null;
    if (row.status !== 'active' && row.status !== 'refresh_failing') return null;
    const previousStatus = row.status;
    Object.assign(row, {
      status: f.status,
      lastErrorCode: f.errorCode,
      nextAttemptAt: f.nextAttemptAt,
      refreshFailures: row.refreshFailures + 1,
    });
    return { previousStatus, row: { ...row } };
  };
}

class FakeDriver implements CredentialProvider {
  readonly provider = 'gcp' as const;
  calls = 0;
  latencyMs = 50;
  next: (() => TokenGrant) | undefined;
  failWith: ProviderError | undefined;
  isEnabled() {
    return true;
  }
  async refresh(_c: ConnectionEntity, secret: SecretData): Promise<TokenGrant> {
    this.calls++;
    await new Promise((r) => setTimeout(r, this.latencyMs));
    if (this.failWith) throw this.failWith;
    return (
      this.next?.() ?? {
        secret: { ...secret, access_token: `ya29.new-${this.calls}` },
        expiresAt: new Date(Date.now() + 3600_000),
        scopes: ['a'],
      }
    );
  }
  async revoke(): Promise<UpstreamCleanup> {
    return { removed: [], left: [] };
  }
}

describe('RefreshService (single-flight, failures, CAS)', () => {
  const prefix = `cbk_unit_refresh_${randomBytes(4).toString('hex')}:`;
  let redis: Redis;
  const config = testConfig({ lifecycle: { refreshWindowSeconds: 300, refreshConcurrency: 10 } });
  let connections: MemoryConnections;
  let secrets: InMemorySecretStore;
  let driver: FakeDriver;
  let audits: AuditInput[];
  let published: string[];
  let outbox: RecordingOutbox;

  beforeAll(() => {
    redis = new Redis(REDIS_URL, { keyPrefix: prefix });
  });
  afterAll(async () => {
    const raw = new Redis(REDIS_URL);
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length > 0) await raw.del(...keys);
    raw.disconnect();
    redis.disconnect();
  });
  beforeEach(() => {
    connections = new MemoryConnections();
    secrets = new InMemorySecretStore();
    driver = new FakeDriver();
    audits = [];
    published = [];
    outbox = new RecordingOutbox();
  });

  /** A separate service instance: another process as far as in-process sharing goes. */
  function service(cfg = config): RefreshService {
    return new RefreshService(
      cfg,
      connections as unknown as RefreshStateRepository,
      secrets,
      { get: () => driver } as unknown as ProviderRegistry,
      new RedisLock(redis),
      new TokenCache(),
      new RefreshReporter(new LifecycleMetrics(new MetricsService()), {
        record: async (a: AuditInput) => void audits.push(a),
      } as unknown as AuditService),
      { publish: async (id: string) => void published.push(id) } as unknown as ConnectionChanges,
      outbox.asOutbox(),
    );
  }

  /** The connection an outcome carries (every outcome but `gone` has one). */
  function connectionOf(outcome: RefreshOutcome): ConnectionEntity {
    if (outcome.kind === 'gone') throw new Error('the connection is gone');
    return outcome.connection;
  }

  async function seed(expiresInSeconds: number): Promise<ConnectionEntity> {
    const id = randomUUID();
    const path = `connections/${id}`;
    await secrets.write(path, { access_token: 'ya29.old', refresh_token: '1//r' }, { cas: 0 });
    const row = Object.assign(new ConnectionEntity(), {
      id,
      provider: 'gcp',
      status: 'active',
      scopes: ['a'],
      expiresAt: new Date(Date.now() + expiresInSeconds * 1000),
      lastRefreshedAt: null,
      refreshFailures: 0,
      lastErrorCode: null,
      nextAttemptAt: new Date(0),
      vaultPath: path,
      vaultVersion: 1,
    });
    connections.rows.set(id, row);
    return row;
  }

  it('shares one upstream call among concurrent callers in one process and across processes', async () => {
    const row = await seed(30);
    const here = service();
    const there = service();
    const outcomes = await Promise.all([
      ...Array.from({ length: 20 }, () => here.refresh(row.id, { trigger: 'read', force: false })),
      ...Array.from({ length: 20 }, () => there.refresh(row.id, { trigger: 'read', force: false })),
    ]);
    expect(driver.calls).toBe(1);
    // One process's callers share the refreshing flight; the other's find the result after the lock.
    expect(outcomes.filter((o) => o.kind === 'refreshed')).toHaveLength(20);
    expect(outcomes.filter((o) => o.kind === 'fresh')).toHaveLength(20);
    expect(new Set(outcomes.map((o) => connectionOf(o).vaultVersion))).toEqual(new Set([2]));
    expect(secrets.versions(row.vaultPath)).toHaveLength(2);
    // Every process's row cache hears of the change once.
    expect(published).toEqual([row.id]);
  });

  it('does not call upstream when the re-read row is already outside the window', async () => {
    const row = await seed(3000);
    const outcome = await service().refresh(row.id, { trigger: 'scheduled', force: false });
    expect(outcome.kind).toBe('fresh');
    expect(driver.calls).toBe(0);
  });

  it('a forced refresh calls upstream even outside the window, once for concurrent callers', async () => {
    const row = await seed(3000);
    const s = service();
    const outcomes = await Promise.all(
      Array.from({ length: 5 }, () => s.refresh(row.id, { trigger: 'manual', force: true })),
    );
    expect(driver.calls).toBe(1);
    expect(outcomes.every((o) => connectionOf(o).lastRefreshedAt !== null)).toBe(true);
  });

  it('permanent failure → needs_reauth, audited; later calls never reach the provider', async () => {
    const row = await seed(30);
    driver.failWith = new ProviderError('permanent', 'invalid_grant', 'dead');
    const s = service();
    await expect(s.refresh(row.id, { trigger: 'read', force: false })).resolves.toMatchObject({
      kind: 'needs_reauth',
    });
    expect(connections.rows.get(row.id)?.status).toBe('needs_reauth');
    expect(audits.at(-1)).toMatchObject({ outcome: 'failure', errorCode: 'needs_reauth' });
    await expect(s.refresh(row.id, { trigger: 'manual', force: true })).resolves.toMatchObject({
      kind: 'needs_reauth',
    });
    expect(driver.calls).toBe(1);
    // One event for the transition, none for the later calls that found it dead.
    expect(outbox.types()).toEqual(['connection.needs_reauth']);
  });

  it('transient failure → refresh_failing with backoff; no call until next_attempt_at; then active', async () => {
    const row = await seed(30);
    driver.failWith = new ProviderError('transient', 'upstream_unavailable', '503');
    const s = service();
    await expect(s.refresh(row.id, { trigger: 'scheduled', force: false })).resolves.toMatchObject({
      kind: 'failing',
    });
    const failing = connections.rows.get(row.id);
    expect(failing?.status).toBe('refresh_failing');
    expect(failing?.refreshFailures).toBe(1);
    const pause = (failing?.nextAttemptAt.getTime() ?? 0) - Date.now();
    expect(pause).toBeGreaterThan(14_000);
    expect(pause).toBeLessThanOrEqual(30_000);
    expect((await s.refresh(row.id, { trigger: 'read', force: false })).kind).toBe('backoff');
    expect(driver.calls).toBe(1);

    driver.failWith = undefined;
    if (failing) failing.nextAttemptAt = new Date(Date.now() - 1);
    expect((await s.refresh(row.id, { trigger: 'scheduled', force: false })).kind).toBe(
      'refreshed',
    );
    expect(connections.rows.get(row.id)).toMatchObject({ status: 'active', refreshFailures: 0 });
    expect(outbox.types()).toEqual(['connection.refresh_failing', 'connection.recovered']);
  });

  it('writes a plain success outside the outbox, a recovery in it, and one that raced a failure after it', async () => {
    const write = jest.spyOn(outbox, 'write');
    const plain = await seed(30);
    const s = service();
    expect((await s.refresh(plain.id, { trigger: 'scheduled', force: false })).kind).toBe(
      'refreshed',
    );
    expect(write).not.toHaveBeenCalled();

    const failing = await seed(30);
    Object.assign(connections.rows.get(failing.id) ?? {}, { status: 'refresh_failing' });
    expect((await s.refresh(failing.id, { trigger: 'scheduled', force: false })).kind).toBe(
      'refreshed',
    );
    expect(write).toHaveBeenCalledTimes(1);
    expect(outbox.types()).toEqual(['connection.recovered']);

    // Read as active, marked failing by a holder whose lock had lapsed while we were upstream:
    // the write still ends a failure, so its event follows it.
    const raced = await seed(30);
    driver.next = () => {
      Object.assign(connections.rows.get(raced.id) ?? {}, { status: 'refresh_failing' });
      return {
        secret: { access_token: 'ya29.raced' },
        expiresAt: new Date(Date.now() + 3600_000),
        scopes: ['a'],
      };
    };
    expect((await s.refresh(raced.id, { trigger: 'scheduled', force: false })).kind).toBe(
      'refreshed',
    );
    expect(write).toHaveBeenCalledTimes(2);
    expect(outbox.events.map((e) => [e.type, e.connectionId])).toEqual([
      ['connection.recovered', failing.id],
      ['connection.recovered', raced.id],
    ]);
  });

  it('raises refresh_failing once however many retries fail, and nothing for a plain refresh', async () => {
    const row = await seed(30);
    const s = service();
    expect((await s.refresh(row.id, { trigger: 'scheduled', force: false })).kind).toBe(
      'refreshed',
    );
    expect(outbox.types()).toEqual([]);
    driver.failWith = new ProviderError('transient', 'upstream_unavailable', '503');
    for (let i = 0; i < 3; i++) {
      const current = connections.rows.get(row.id);
      if (current) {
        current.nextAttemptAt = new Date(Date.now() - 1);
        current.expiresAt = new Date(Date.now() + 30_000);
      }
      expect((await s.refresh(row.id, { trigger: 'scheduled', force: false })).kind).toBe(
        'failing',
      );
    }
    expect(connections.rows.get(row.id)?.refreshFailures).toBe(3);
    expect(outbox.types()).toEqual(['connection.refresh_failing']);
  });

  it('a forced (manual) refresh waits out the backoff of a failing connection too', async () => {
    const row = await seed(30);
    driver.failWith = new ProviderError('transient', 'upstream_unavailable', '503');
    const s = service();
    await s.refresh(row.id, { trigger: 'manual', force: true });
    expect(driver.calls).toBe(1);
    const outcome = await s.refresh(row.id, { trigger: 'manual', force: true });
    expect(outcome.kind).toBe('backoff');
    expect(driver.calls).toBe(1);
  });

  it('takes the provider-call slot before the lock: queued callers hold no lock, none fails', async () => {
    const one = testConfig({ lifecycle: { refreshWindowSeconds: 300, refreshConcurrency: 1 } });
    const rows = await Promise.all([seed(30), seed(30), seed(30)]);
    driver.latencyMs = 150;
    const s = service(one);
    const lockHeld: boolean[] = [];
    const watching = setInterval(() => {
      void Promise.all(rows.map((r) => redis.exists(`lock:refresh:${r.id}`))).then((held) =>
        lockHeld.push(held.filter((h) => h === 1).length > 1),
      );
    }, 20);
    const outcomes = await Promise.all(
      rows.map((r) => s.refresh(r.id, { trigger: 'scheduled', force: false })),
    );
    clearInterval(watching);
    expect(outcomes.map((o) => o.kind)).toEqual(['refreshed', 'refreshed', 'refreshed']);
    expect(driver.calls).toBe(3);
    // One slot: never more than one connection's lock at a time, so none can lapse in a queue.
    expect(lockHeld.length).toBeGreaterThan(5);
    expect(lockHeld.some(Boolean)).toBe(false);
    expect(rows.every((r) => connections.rows.get(r.id)?.status === 'active')).toBe(true);
  });

  it('check-and-set: a newer version written meanwhile is never overwritten', async () => {
    const row = await seed(30);
    driver.latencyMs = 100;
    const pending = service().refresh(row.id, { trigger: 'read', force: false });
    await new Promise((r) => setTimeout(r, 30));
    await secrets.write(row.vaultPath, { access_token: 'ya29.reconnected' }, { cas: 1 });
    await expect(pending).resolves.toMatchObject({ kind: 'failing', reason: 'cas_mismatch' });
    const versions = secrets.versions(row.vaultPath);
    expect(versions).toHaveLength(2);
    expect(versions[1].access_token).toBe('ya29.reconnected');
    expect(connections.rows.get(row.id)?.vaultVersion).toBe(1);
  });

  it('builds on the newest Vault version after a crash left Postgres behind', async () => {
    const row = await seed(30);
    await secrets.write(
      row.vaultPath,
      { access_token: 'ya29.crashed', refresh_token: '1//rotated' },
      { cas: 1 },
    );
    let seen: SecretData | undefined;
    driver.next = () => ({
      secret: { access_token: 'ya29.after' },
      expiresAt: new Date(Date.now() + 3600_000),
      scopes: [],
    });
    const original = driver.refresh.bind(driver);
    driver.refresh = async (c, secret) => {
      seen = secret;
      return original(c, secret);
    };
    const outcome = await service().refresh(row.id, { trigger: 'read', force: false });
    expect(seen?.refresh_token).toBe('1//rotated');
    expect(connectionOf(outcome).vaultVersion).toBe(3);
    expect(connectionOf(outcome).scopes).toEqual(['a']);
  });
});
