import { createHash } from 'node:crypto';
import { type DataSource } from 'typeorm';
import { type AuditService } from '../../../src/audit/audit.service';
import { BrokerError } from '../../../src/common/error-codes';
import { type ConnectionEntity, PendingClaimEntity } from '../../../src/database/entities';
import { PendingClaimsRepository } from '../../../src/database/repositories/pending-claims.repository';
import { type SetupQueue } from '../../../src/jobs/setup-queue';
import { type ConnectionWriter } from '../../../src/lifecycle/connection-writer';
import {
  type HeldGrant,
  PendingClaims,
  TAKEN_CLAIM_STALE_MS,
} from '../../../src/lifecycle/pending-claims';
import { type CredentialProvider } from '../../../src/providers/provider';
import { type ProviderRegistry } from '../../../src/providers/provider-registry';
import { type SetupDefinition } from '../../../src/providers/setup-definition';
import { FakeClock } from '../../support/fake-clock';
import { InMemorySecretStore } from '../../support/in-memory-secret-store';
import { type TestDataSource, openTestDataSource } from '../../support/postgres';
import { testConfig } from '../../support/test-config';

const sha256 = (v: string) => createHash('sha256').update(v).digest('hex');

describe('PendingClaims', () => {
  let db: TestDataSource;
  let ds: DataSource;

  beforeAll(async () => {
    db = await openTestDataSource();
    ds = db.ds;
  });
  afterAll(async () => {
    await db.close();
  });
  beforeEach(async () => {
    await ds.getRepository(PendingClaimEntity).clear();
  });

  function setupClaims(options: { setup?: boolean } = {}) {
    const clock = new FakeClock({ start: Date.now() });
    const secrets = new InMemorySecretStore();
    const revoke = jest.fn<Promise<void>, Parameters<CredentialProvider['revoke']>>(
      async () => undefined,
    );
    const connect = jest.fn(async (input: Parameters<ConnectionWriter['connect']>[0]) => ({
      connection: {
        id: 'conn-1',
        provider: input.provider,
        userId: input.userId,
      } as ConnectionEntity,
      created: true,
    }));
    const enqueue = jest.fn(async () => undefined);
    const record = jest.fn(async () => undefined);
    const registry = {
      get: () => ({ revoke }) as unknown as CredentialProvider,
      setupOf: () => (options.setup ? ({} as SetupDefinition) : undefined),
    } as unknown as ProviderRegistry;
    const claims = new PendingClaims(
      new PendingClaimsRepository(ds.getRepository(PendingClaimEntity)),
      secrets,
      { connect } as unknown as ConnectionWriter,
      registry,
      { enqueue } as unknown as SetupQueue,
      { record } as unknown as AuditService,
      clock,
      testConfig({ lifecycle: { claimTtlSeconds: 300 } }),
    );
    return { claims, clock, secrets, revoke, connect, enqueue, record };
  }

  const grant = (userId = 'alice'): HeldGrant => ({
    userId,
    provider: 'gcp',
    accountRef: 'ada@example.com',
    displayName: 'ada@example.com',
    scopes: ['openid'],
    expiresAt: new Date(Date.now() + 3600_000),
    metadata: { email: 'ada@example.com' },
    secret: { access_token: 'ya29.held', refresh_token: '1//held' },
  });
  const actor = (id: string) => ({ actorType: 'user' as const, actorId: id });
  const rows = () => ds.getRepository(PendingClaimEntity).find();

  it('holds the secret under a pending path and keeps only the hash of the code', async () => {
    const { claims, secrets } = setupClaims();
    const { claim } = await claims.hold(grant());
    expect(claim).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const [row] = await rows();
    expect(row.claimHash).toBe(sha256(claim));
    expect(JSON.stringify(row)).not.toContain(claim);
    expect(JSON.stringify(row)).not.toContain('1//held');
    expect((await secrets.read(row.secretPath))?.reveal().refresh_token).toBe('1//held');
  });

  it("connects for the state's user, moves the secret, queues setup when the provider has one", async () => {
    const { claims, secrets, connect, enqueue } = setupClaims({ setup: true });
    const { claim } = await claims.hold(grant());
    const [row] = await rows();
    const result = await claims.claim({ claim, userId: 'alice', actor: actor('alice') });
    expect(result.connection.id).toBe('conn-1');
    expect(connect).toHaveBeenCalledWith(
      expect.objectContaining({
        userId: 'alice',
        accountRef: 'ada@example.com',
        setupStatus: 'pending',
        secret: { access_token: 'ya29.held', refresh_token: '1//held' },
      }),
    );
    expect(enqueue).toHaveBeenCalledTimes(1);
    expect(await secrets.read(row.secretPath)).toBeNull();
    expect(await rows()).toEqual([]);
  });

  it('marks a provider without setup not_applicable and queues nothing', async () => {
    const { claims, connect, enqueue } = setupClaims();
    const { claim } = await claims.hold(grant());
    await claims.claim({ claim, userId: 'alice', actor: actor('alice') });
    expect(connect.mock.calls[0][0].setupStatus).toBe('not_applicable');
    expect(enqueue).not.toHaveBeenCalled();
  });

  it('refuses another user with claim_not_found, revokes and destroys the grant, and never retries', async () => {
    const { claims, secrets, revoke, connect } = setupClaims();
    const { claim } = await claims.hold(grant());
    const [row] = await rows();
    await expect(
      claims.claim({ claim, userId: 'mallory', actor: actor('mallory') }),
    ).rejects.toMatchObject({ code: 'claim_not_found' });
    expect(revoke).toHaveBeenCalledTimes(1);
    expect(revoke.mock.calls[0][1]).toEqual({
      access_token: 'ya29.held',
      refresh_token: '1//held',
    });
    expect(await secrets.read(row.secretPath)).toBeNull();
    await expect(
      claims.claim({ claim, userId: 'alice', actor: actor('alice') }),
    ).rejects.toBeInstanceOf(BrokerError);
    expect(connect).not.toHaveBeenCalled();
  });

  it('refuses a used, an expired or a malformed code', async () => {
    const { claims, clock } = setupClaims();
    const used = (await claims.hold(grant())).claim;
    await claims.claim({ claim: used, userId: 'alice', actor: actor('alice') });
    const late = (await claims.hold(grant())).claim;
    clock.advance(301_000);
    for (const claim of [used, late, 'short', '']) {
      await expect(
        claims.claim({ claim, userId: 'alice', actor: actor('alice') }),
      ).rejects.toMatchObject({ code: 'claim_not_found' });
    }
  });

  it('gives the claim back when the connection could not be written, so it may be tried again', async () => {
    const { claims, connect } = setupClaims();
    const { claim } = await claims.hold(grant());
    connect.mockRejectedValueOnce(new BrokerError('secret_store_unavailable'));
    await expect(
      claims.claim({ claim, userId: 'alice', actor: actor('alice') }),
    ).rejects.toMatchObject({
      code: 'secret_store_unavailable',
    });
    await expect(
      claims.claim({ claim, userId: 'alice', actor: actor('alice') }),
    ).resolves.toMatchObject({
      created: true,
    });
  });

  it('revokes the grant when it cannot be held', async () => {
    const { claims, secrets, revoke } = setupClaims();
    secrets.failWith('unavailable');
    await expect(claims.hold(grant())).rejects.toMatchObject({ code: 'secret_store_unavailable' });
    expect(revoke).toHaveBeenCalledTimes(1);
    expect(await rows()).toEqual([]);
  });

  it('sweeps expired claims once across concurrent sweeps, and leaves live ones', async () => {
    const { claims, clock, revoke, secrets } = setupClaims();
    await claims.hold(grant('a'));
    await claims.hold(grant('b'));
    clock.advance(301_000);
    const live = await claims.hold(grant('c'));
    const [x, y] = await Promise.all([claims.sweep(), claims.sweep()]);
    expect(x + y).toBe(2);
    expect(revoke).toHaveBeenCalledTimes(2);
    const left = await rows();
    expect(left.map((r) => r.claimHash)).toEqual([sha256(live.claim)]);
    expect(await secrets.list('pending-claims/')).toHaveLength(1);
  });

  it("finishes a claim its taker left: a claimed one is destroyed without revoking (it may be the connection's grant)", async () => {
    const { claims, clock, revoke, secrets } = setupClaims();
    const { claim } = await claims.hold(grant());
    const repo = new PendingClaimsRepository(ds.getRepository(PendingClaimEntity));
    await repo.takeForClaim(sha256(claim), 'alice', clock.date()); // …and the taker died
    expect(await claims.sweep()).toBe(0);
    clock.advance(TAKEN_CLAIM_STALE_MS + 1000);
    expect(await claims.sweep()).toBe(1);
    expect(revoke).not.toHaveBeenCalled();
    expect(await secrets.list('pending-claims/')).toEqual([]);
    expect(await rows()).toEqual([]);
  });
});
