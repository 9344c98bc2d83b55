import { AuditEventEntity } from '../../src/database/entities';
import { BrokerHarness } from '../support/broker';
import { type FakeGoogle, startFakeGoogle } from '../fakes/google/fake-google';
import {
  KV_MOUNT,
  type TokenBody,
  connectionRow,
  eventually,
  kvPath,
  refreshCalls,
  seedGcpConnection,
  setRow,
} from '../support/lifecycle-seed';

/** A failing refresh: the broker's one attempt, which Google's SDK retries three times on a 5xx. */
const GOOGLE_CALLS_PER_ATTEMPT = 4;

/**
 * The token endpoints on one built api (no worker, so every refresh here is caused by a request):
 * reads, refresh on read, manual refresh, single-flight, failures, the crash window and CAS.
 */
describe('token lifecycle: reads and manual refresh (e2e)', () => {
  let google: FakeGoogle;
  let broker: BrokerHarness;
  let alice: string;

  beforeAll(async () => {
    google = await startFakeGoogle();
    broker = await BrokerHarness.start({ env: { ...google.env(), REFRESH_WINDOW_SECONDS: '300' } });
    alice = await broker.userToken('alice');
  });

  afterAll(async () => {
    await broker?.close();
    await google?.close();
  });

  const vaultReads = (path: string) =>
    broker.vault.calls.filter((c) => c.method === 'GET' && c.path.endsWith(path)).length;

  it('serves a fresh token from Vault once, then from memory, without calling Google', async () => {
    const seeded = await seedGcpConnection(broker, google, {
      userId: 'alice',
      expiresInSeconds: 3000,
    });
    const first = await broker.request(`/connections/${seeded.connection.id}/token`, {
      token: alice,
    });
    expect(first.status).toBe(200);
    const body = first.body as TokenBody;
    expect(body).toEqual({
      access_token: seeded.accessToken,
      token_type: 'Bearer',
      expires_at: seeded.connection.expiresAt?.toISOString(),
      scope: seeded.connection.scopes.join(' '),
    });
    expect(first.text).not.toContain(seeded.refreshToken);
    expect(first.headers.get('cache-control')).toBe('no-store');
    const readsAfterFirst = vaultReads(seeded.connection.id);
    expect(readsAfterFirst).toBe(1);
    for (let i = 0; i < 3; i++) {
      const again = await broker.request(`/connections/${seeded.connection.id}/token`, {
        token: alice,
      });
      expect((again.body as TokenBody).access_token).toBe(seeded.accessToken);
    }
    expect(vaultReads(seeded.connection.id)).toBe(readsAfterFirst);
    expect(refreshCalls(google, seeded.refreshToken)).toBe(0);
  });

  it("answers 404 for another user's connection and 403 for a key without tokens:read", async () => {
    const seeded = await seedGcpConnection(broker, google, {
      userId: 'alice',
      expiresInSeconds: 3000,
    });
    const bob = await broker.userToken('bob');
    const other = await broker.request(`/connections/${seeded.connection.id}/token`, {
      token: bob,
    });
    expect(other.status).toBe(404);
    const readOnly = await broker.apiKey(['connections:read']);
    const denied = await broker.request(`/connections/${seeded.connection.id}/token`, {
      token: readOnly,
    });
    expect(denied.status).toBe(403);
  });

  it('audits reads by API keys (key id, connection, time) in batches', async () => {
    const seeded = await seedGcpConnection(broker, google, {
      userId: 'alice',
      expiresInSeconds: 3000,
    });
    const key = await broker.apiKey(['tokens:read'], 'reader');
    for (let i = 0; i < 3; i++) {
      const res = await broker.request(`/connections/${seeded.connection.id}/token`, {
        token: key,
      });
      expect(res.status).toBe(200);
    }
    const audits = () =>
      broker.dataSource.getRepository(AuditEventEntity).find({
        where: { action: 'token.read', connectionId: seeded.connection.id },
      });
    expect(await eventually(async () => (await audits()).length === 3, 5000)).toBe(true);
    const rows = await audits();
    expect(new Set(rows.map((r) => r.actorType))).toEqual(new Set(['api_key']));
    expect(rows[0].actorId).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.now() - rows[0].occurredAt.getTime()).toBeLessThan(60_000);
  });

  it('refreshes on read inside the window: the new token, a new Vault version, the row updated', async () => {
    const seeded = await seedGcpConnection(broker, google, {
      userId: 'alice',
      expiresInSeconds: 60,
    });
    const res = await broker.request(`/connections/${seeded.connection.id}/token`, {
      token: alice,
    });
    expect(res.status).toBe(200);
    const body = res.body as TokenBody;
    expect(body.access_token).not.toBe(seeded.accessToken);
    expect(body.access_token).toMatch(/^ya29\./);
    expect(google.grants.issued.access).toContain(body.access_token);
    expect(refreshCalls(google, seeded.refreshToken)).toBe(1);
    expect(new Date(body.expires_at).getTime()).toBeGreaterThan(Date.now() + 3000_000);
    const row = await connectionRow(broker, seeded.connection.id);
    expect(row.vaultVersion).toBe(2);
    expect(row.status).toBe('active');
    expect(row.lastRefreshedAt).not.toBeNull();
    const stored = broker.vault.kv.get(KV_MOUNT, kvPath(row.vaultPath))?.versions.get(2)?.data;
    // Google sends no new refresh token: the old one is kept.
    expect(stored).toMatchObject({
      access_token: body.access_token,
      refresh_token: seeded.refreshToken,
    });
  });

  it('50 concurrent reads of a due token make exactly one upstream refresh; all get the new token', async () => {
    const seeded = await seedGcpConnection(broker, google, {
      userId: 'alice',
      expiresInSeconds: 30,
    });
    google.latencyMs = 300;
    try {
      const results = await Promise.all(
        Array.from({ length: 50 }, () =>
          broker.request(`/connections/${seeded.connection.id}/token`, { token: alice }),
        ),
      );
      expect(results.map((r) => r.status)).toEqual(Array.from({ length: 50 }, () => 200));
      const tokens = new Set(results.map((r) => (r.body as TokenBody).access_token));
      expect(tokens.size).toBe(1);
      expect([...tokens][0]).not.toBe(seeded.accessToken);
    } finally {
      google.latencyMs = 0;
    }
    expect(refreshCalls(google, seeded.refreshToken)).toBe(1);
  });

  it('manual refresh refreshes now even outside the window, and is rate limited per connection', async () => {
    const seeded = await seedGcpConnection(broker, google, {
      userId: 'alice',
      expiresInSeconds: 3000,
    });
    const before = Date.now();
    const res = await broker.request(`/connections/${seeded.connection.id}/refresh`, {
      method: 'POST',
      token: alice,
    });
    expect(res.status).toBe(200);
    const body = res.body as { expires_at: string; refreshed_at: string };
    expect(new Date(body.refreshed_at).getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(new Date(body.expires_at).getTime()).toBeGreaterThan(Date.now() + 3000_000);
    expect(refreshCalls(google, seeded.refreshToken)).toBe(1);
    const token = await broker.request(`/connections/${seeded.connection.id}/token`, {
      token: alice,
    });
    expect((token.body as TokenBody).access_token).not.toBe(seeded.accessToken);

    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push(
        (
          await broker.request(`/connections/${seeded.connection.id}/refresh`, {
            method: 'POST',
            token: alice,
          })
        ).status,
      );
    }
    expect(statuses.slice(0, 4)).toEqual([200, 200, 200, 200]);
    expect(statuses[4]).toBe(429);
    expect(refreshCalls(google, seeded.refreshToken)).toBe(5);
  });

  it('invalid_grant → needs_reauth (409), audited, and Google is not asked again', async () => {
    const seeded = await seedGcpConnection(broker, google, {
      userId: 'alice',
      expiresInSeconds: 30,
    });
    google.failToken({ kind: 'invalid_grant' });
    const res = await broker.request(`/connections/${seeded.connection.id}/token`, {
      token: alice,
    });
    expect(res.status).toBe(409);
    expect((res.body as { code: string }).code).toBe('needs_reauth');
    const row = await connectionRow(broker, seeded.connection.id);
    expect(row.status).toBe('needs_reauth');
    expect(row.lastErrorCode).toBe('invalid_grant');
    const callsAfter = refreshCalls(google);
    const again = await broker.request(`/connections/${seeded.connection.id}/token`, {
      token: alice,
    });
    expect(again.status).toBe(409);
    const manual = await broker.request(`/connections/${seeded.connection.id}/refresh`, {
      method: 'POST',
      token: alice,
    });
    expect(manual.status).toBe(409);
    expect(refreshCalls(google)).toBe(callsAfter);
    const audit = await broker.dataSource.getRepository(AuditEventEntity).findOneBy({
      action: 'connection.refresh',
      connectionId: seeded.connection.id,
      outcome: 'failure',
    });
    expect(audit?.errorCode).toBe('needs_reauth');
  });

  it('a 503 from Google → refresh_failing with backoff: a valid token is served, then recovery', async () => {
    const seeded = await seedGcpConnection(broker, google, {
      userId: 'alice',
      expiresInSeconds: 60,
    });
    // google-auth-library retries a 5xx three times inside one refresh: one attempt, four calls.
    google.failToken({ kind: 'status', status: 503 }, GOOGLE_CALLS_PER_ATTEMPT);
    const res = await broker.request(`/connections/${seeded.connection.id}/token`, {
      token: alice,
    });
    expect(res.status).toBe(200);
    expect(refreshCalls(google, seeded.refreshToken)).toBe(GOOGLE_CALLS_PER_ATTEMPT);
    expect((res.body as TokenBody).access_token).toBe(seeded.accessToken);
    const failing = await connectionRow(broker, seeded.connection.id);
    expect(failing.status).toBe('refresh_failing');
    expect(failing.refreshFailures).toBe(1);
    const pause = failing.nextAttemptAt.getTime() - Date.now();
    expect(pause).toBeGreaterThan(10_000);
    expect(pause).toBeLessThanOrEqual(30_000);

    // During the backoff, reads do not call Google again.
    const calls = refreshCalls(google, seeded.refreshToken);
    const during = await broker.request(`/connections/${seeded.connection.id}/token`, {
      token: alice,
    });
    expect((during.body as TokenBody).access_token).toBe(seeded.accessToken);
    expect(refreshCalls(google, seeded.refreshToken)).toBe(calls);

    // An expired token during the backoff is 503, not a dead token.
    await setRow(broker, seeded.connection.id, { expiresAt: new Date(Date.now() - 1000) });
    const expired = await broker.request(`/connections/${seeded.connection.id}/token`, {
      token: alice,
    });
    expect(expired.status).toBe(503);
    expect((expired.body as { code: string }).code).toBe('provider_unavailable');
    expect(refreshCalls(google, seeded.refreshToken)).toBe(calls);

    // Backoff over: the next read refreshes and the connection is active again.
    await setRow(broker, seeded.connection.id, { nextAttemptAt: new Date(Date.now() - 1000) });
    const recovered = await broker.request(`/connections/${seeded.connection.id}/token`, {
      token: alice,
    });
    expect(recovered.status).toBe(200);
    expect((recovered.body as TokenBody).access_token).not.toBe(seeded.accessToken);
    const row = await connectionRow(broker, seeded.connection.id);
    expect(row.status).toBe('active');
    expect(row.refreshFailures).toBe(0);
    expect(row.lastErrorCode).toBeNull();
  });

  it('a 503 on manual refresh answers 503 provider_unavailable', async () => {
    const seeded = await seedGcpConnection(broker, google, {
      userId: 'alice',
      expiresInSeconds: 3000,
    });
    google.failToken({ kind: 'status', status: 503 }, GOOGLE_CALLS_PER_ATTEMPT);
    const res = await broker.request(`/connections/${seeded.connection.id}/refresh`, {
      method: 'POST',
      token: alice,
    });
    expect(res.status).toBe(503);
    expect((res.body as { code: string }).code).toBe('provider_unavailable');
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(res.text).not.toContain('Backend Error');
  });

  it('a crash between the Vault write and the Postgres update leaves a usable, newer token', async () => {
    const seeded = await seedGcpConnection(broker, google, {
      userId: 'alice',
      expiresInSeconds: 60,
    });
    // The crashed refresh: Google minted a token, Vault got it as version 2, Postgres never heard.
    const grant = google.grants.refreshTokens.get(seeded.refreshToken);
    if (!grant) throw new Error('seeded grant missing');
    const newer = google.grants.newAccessToken(grant, 3599);
    const path = kvPath(seeded.connection.vaultPath);
    broker.vault.kv.write(KV_MOUNT, path, {
      access_token: newer,
      refresh_token: seeded.refreshToken,
      token_type: 'Bearer',
      scope: seeded.connection.scopes.join(' '),
      expires_at: new Date(Date.now() + 3599_000).toISOString(),
    });
    expect((await connectionRow(broker, seeded.connection.id)).vaultVersion).toBe(1);

    // The row looks due, so the read refreshes early — building on version 2, not overwriting it.
    const res = await broker.request(`/connections/${seeded.connection.id}/token`, {
      token: alice,
    });
    expect(res.status).toBe(200);
    const row = await connectionRow(broker, seeded.connection.id);
    expect(row.vaultVersion).toBe(3);
    const entry = broker.vault.kv.get(KV_MOUNT, path);
    expect(entry?.versions.get(2)?.data).toMatchObject({ access_token: newer });
    expect(entry?.versions.get(3)?.data).toMatchObject({
      access_token: (res.body as TokenBody).access_token,
    });
    expect(google.grants.liveAccessToken((res.body as TokenBody).access_token)).toBeDefined();
  });

  it('check-and-set: a refresh that loses to a newer write does not overwrite it', async () => {
    const seeded = await seedGcpConnection(broker, google, {
      userId: 'alice',
      expiresInSeconds: 3000,
    });
    const path = kvPath(seeded.connection.vaultPath);
    google.failToken({ kind: 'delay', ms: 1500 });
    const pending = broker.request(`/connections/${seeded.connection.id}/refresh`, {
      method: 'POST',
      token: alice,
    });
    // While Google is slow, a reconnect writes version 2 (the user's new grant).
    expect(await eventually(() => refreshCalls(google, seeded.refreshToken) === 1, 5000)).toBe(
      true,
    );
    const reconnect = broker.vault.kv.write(KV_MOUNT, path, {
      access_token: 'ya29.reconnected-token',
      refresh_token: seeded.refreshToken,
      token_type: 'Bearer',
      scope: seeded.connection.scopes.join(' '),
    });
    expect(reconnect.ok).toBe(true);
    const res = await pending;
    expect(res.status).toBe(503);
    const entry = broker.vault.kv.get(KV_MOUNT, path);
    expect(entry?.currentVersion).toBe(2);
    expect(entry?.versions.get(2)?.data).toMatchObject({ access_token: 'ya29.reconnected-token' });
    expect((await connectionRow(broker, seeded.connection.id)).vaultVersion).toBe(1);
  });

  it('counts reads and refreshes in /metrics; no token reaches logs, Postgres or Redis', async () => {
    const metrics = await broker.request('/metrics');
    expect(metrics.text).toMatch(/broker_token_reads_total\{provider="gcp",outcome="served"\} \d+/);
    expect(metrics.text).toMatch(
      /broker_token_reads_total\{provider="gcp",outcome="refreshed"\} \d+/,
    );
    expect(metrics.text).toMatch(
      /broker_token_refreshes_total\{provider="gcp",outcome="success",reason="ok",trigger="read"\} \d+/,
    );
    expect(metrics.text).toMatch(
      /broker_token_refreshes_total\{provider="gcp",outcome="permanent_failure",reason="invalid_grant",trigger="read"\} 1/,
    );
    expect(broker.logs()).toMatch(/"msg":"token refresh"/);
    const places = [broker.logs(), await broker.dumpDatabase(), await broker.dumpRedis()];
    for (const secret of google.grants.allSecrets()) {
      for (const place of places) expect(place).not.toContain(secret);
    }
  });

  it('a row cached by one api replica is dropped when another revokes or refreshes it', async () => {
    const seeded = await seedGcpConnection(broker, google, {
      userId: 'alice',
      expiresInSeconds: 3600,
    });
    const id = seeded.connection.id;
    const other = await broker.startApi();
    try {
      const read = (base?: string) =>
        broker.request(`/connections/${id}/token`, { token: alice, base });
      // Replica A (broker.url) reads and caches the row.
      expect(((await read()).body as TokenBody).access_token).toBe(seeded.accessToken);
      // Replica B refreshes: A serves the new token on its next read, not the cached row's.
      const forced = await broker.request(`/connections/${id}/refresh`, {
        method: 'POST',
        token: alice,
        base: other.url,
      });
      expect(forced.status).toBe(200);
      const fresh = google.grants.issued.access.at(-1);
      expect(fresh).not.toBe(seeded.accessToken);
      expect(
        await eventually(
          async () => ((await read()).body as TokenBody).access_token === fresh,
          500,
        ),
      ).toBe(true);
      // Replica B revokes: A answers 404 from then on.
      const deleted = await broker.request(`/connections/${id}`, {
        method: 'DELETE',
        token: alice,
        base: other.url,
      });
      expect(deleted.status).toBe(204);
      expect(await eventually(async () => (await read()).status === 404, 500)).toBe(true);
    } finally {
      await other.stop();
    }
  });
});
