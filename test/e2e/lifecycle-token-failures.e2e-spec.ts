import { AuditEventEntity } from '../../src/database/entities';
import { type FakeGoogle } from '../fakes/google/fake-google';
import { type BrokerHarness } from '../support/broker';
import {
  type TokenBody,
  connectionRow,
  refreshCalls,
  seedGcpConnection,
  setRow,
} from '../support/lifecycle-seed';
import { closeTokenBroker, startTokenBroker } from '../support/token-broker';

/** A failing refresh: the broker's one attempt, which the Google client retries once on a 5xx. */
const GOOGLE_CALLS_PER_ATTEMPT = 2;

/**
 * Refreshes that Google fails, on one built api with no worker: a dead grant (invalid_grant →
 * needs_reauth), an outage on read (refresh_failing with backoff, then recovery) and an outage on
 * manual refresh.
 */
describe('token lifecycle: provider failures (e2e)', () => {
  let google: FakeGoogle;
  let broker: BrokerHarness;
  let alice: string;

  beforeAll(async () => {
    ({ google, broker, alice } = await startTokenBroker());
  });
  afterAll(() => closeTokenBroker(broker, google));

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

  it('a manual refresh during the backoff answers 503 with Retry-After and calls nobody', async () => {
    const seeded = await seedGcpConnection(broker, google, {
      userId: 'alice',
      expiresInSeconds: 3000,
    });
    google.failToken({ kind: 'status', status: 503 }, GOOGLE_CALLS_PER_ATTEMPT);
    const first = await broker.request(`/connections/${seeded.connection.id}/refresh`, {
      method: 'POST',
      token: alice,
    });
    expect(first.status).toBe(503);
    const calls = refreshCalls(google);
    const row = await connectionRow(broker, seeded.connection.id);
    const again = await broker.request(`/connections/${seeded.connection.id}/refresh`, {
      method: 'POST',
      token: alice,
    });
    expect(again.status).toBe(503);
    expect((again.body as { code: string }).code).toBe('provider_unavailable');
    const wait = Number(again.headers.get('retry-after'));
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(
      Math.ceil((row.nextAttemptAt.getTime() - Date.now()) / 1000) + 1,
    );
    expect(refreshCalls(google)).toBe(calls);
  });
});
