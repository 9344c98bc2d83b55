import { Logger } from '@nestjs/common';
import { type SchedulerRegistry } from '@nestjs/schedule';
import { type DataSource } from 'typeorm';
import { type AuditService } from '../../../../src/audit/audit.service';
import { ConnectionEntity } from '../../../../src/database/entities';
import { ConnectionsRepository } from '../../../../src/database/repositories/connections.repository';
import { type SetupRunsRepository } from '../../../../src/database/repositories/setup-runs.repository';
import { type ConnectionChanges } from '../../../../src/lifecycle/connection-changes';
import { type ConnectionLocks } from '../../../../src/lifecycle/connection-locks';
import { ConnectionWriter } from '../../../../src/lifecycle/connection-writer';
import { SetupMaintenance } from '../../../../src/lifecycle/setup/setup-maintenance';
import { type CredentialProvider, type MaintainOutcome } from '../../../../src/providers/provider';
import { type ProviderRegistry } from '../../../../src/providers/provider-registry';
import { InMemorySecretStore } from '../../../support/in-memory-secret-store';
import { type TestDataSource, openTestDataSource } from '../../../support/postgres';
import { RecordingOutbox } from '../../../support/recording-outbox';
import { seedConnections } from '../../../support/seed';
import { testConfig } from '../../../support/test-config';

/**
 * The engine side of `maintain` (SPEC §14): what a driver returns is merged into the row and its
 * events raised through the writer, once, and never over a row that changed under the driver.
 * Real Postgres (the guarded merge is SQL), a recording outbox, a driver that does what the test says.
 */
describe('SetupMaintenance', () => {
  let db: TestDataSource;
  let ds: DataSource;
  let repo: ConnectionsRepository;
  let store: InMemorySecretStore;
  let outbox: RecordingOutbox;
  let audits: { action: string; outcome: string; details?: unknown; errorCode?: string }[];
  let published: string[];

  beforeAll(async () => {
    Logger.overrideLogger(false);
    db = await openTestDataSource();
    ds = db.ds;
    repo = new ConnectionsRepository(ds.getRepository(ConnectionEntity));
  });
  afterAll(async () => {
    await db.close();
  });
  beforeEach(() => {
    store = new InMemorySecretStore();
    outbox = new RecordingOutbox();
    audits = [];
    published = [];
  });

  function maintenance(
    maintain: (c: ConnectionEntity, isConnected: () => Promise<boolean>) => Promise<MaintainOutcome | null>, // prettier-ignore
  ) {
    const driver = {
      provider: 'azure',
      isEnabled: () => true,
      maintain: (c: ConnectionEntity, _s: unknown, isConnected: () => Promise<boolean>) =>
        maintain(c, isConnected),
    } as unknown as CredentialProvider;
    const audit = {
      record: async (a: (typeof audits)[number]) => void audits.push(a),
    } as unknown as AuditService;
    const writer = new ConnectionWriter(
      repo,
      store,
      audit,
      { publish: async (id: string) => void published.push(id) } as unknown as ConnectionChanges,
      {} as ConnectionLocks,
      outbox.asOutbox(),
      {} as SetupRunsRepository,
    );
    return new SetupMaintenance(
      { maintained: () => [driver] } as unknown as ProviderRegistry,
      repo,
      store,
      audit,
      writer,
      {} as SchedulerRegistry,
      testConfig(),
    );
  }

  async function azureConnection(metadata: Record<string, unknown> = { tenant_id: 't' }) {
    const userId = `u-${Math.random()}`;
    const [row] = await seedConnections(ds, [{ userId, provider: 'azure', metadata }]);
    await store.write(row.vaultPath, { client_secret: 'never-shown' });
    return row;
  }
  const metadataOf = async (id: string) => (await repo.findById(id))?.metadata;
  const mine = (id: string) => outbox.events.filter((e) => e.connectionId === id);

  it('merges the metadata and raises the events in one write, with the merged row in the event', async () => {
    const row = await azureConnection();
    const done = await maintenance(async (c) =>
      c.id === row.id
        ? {
            metadata: { secret_expires_at: '2026-12-10T00:00:00.000Z' },
            events: [{ type: 'connection.secret_expiring', data: { secret_expires_at: '2026-12-10T00:00:00.000Z' } }], // prettier-ignore
            did: 'client secret expires 2026-12-10T00:00:00.000Z: connection.secret_expiring raised',
          }
        : null,
    ).run();
    expect(done).toBe(1);
    expect(await metadataOf(row.id)).toEqual({
      tenant_id: 't',
      secret_expires_at: '2026-12-10T00:00:00.000Z',
    });
    expect(mine(row.id)).toEqual([
      {
        type: 'connection.secret_expiring',
        connectionId: row.id,
        status: 'active',
        metadata: { tenant_id: 't', secret_expires_at: '2026-12-10T00:00:00.000Z' },
        extra: { secret_expires_at: '2026-12-10T00:00:00.000Z' },
      },
    ]);
    expect(published).toContain(row.id);
    expect(audits).toContainEqual(
      expect.objectContaining({ action: 'setup.maintained', outcome: 'success' }),
    );
  });

  it('records facts without an audit row when the driver did nothing but look', async () => {
    const row = await azureConnection();
    audits.length = 0;
    await maintenance(async (c) =>
      c.id === row.id ? { metadata: { secret_expiry_unknown: 'graph_forbidden' } } : null,
    ).run();
    expect(await metadataOf(row.id)).toMatchObject({ secret_expiry_unknown: 'graph_forbidden' });
    expect(mine(row.id)).toEqual([]);
    expect(audits).toEqual([]);
  });

  it('drops the outcome when the row changed under the driver (a reconnect): no write, no event', async () => {
    const row = await azureConnection();
    await maintenance(async (c) => {
      if (c.id !== row.id) return null;
      // A reconnect lands while the driver asks Graph: new metadata, new secret version.
      await repo.update(row.id, {
        metadata: { tenant_id: 't', secret_expires_at: null },
        vaultVersion: 2,
      });
      return {
        metadata: { secret_expires_at: '2026-12-10T00:00:00.000Z' },
        events: [{ type: 'connection.secret_expiring' }],
      };
    }).run();
    expect(await metadataOf(row.id)).toEqual({ tenant_id: 't', secret_expires_at: null });
    expect(mine(row.id)).toEqual([]);
    expect(published).not.toContain(row.id);
  });

  it('drops it when the connection was disconnected meanwhile', async () => {
    const row = await azureConnection();
    await maintenance(async (c) => {
      if (c.id !== row.id) return null;
      await repo.update(row.id, { status: 'revoked' });
      return { metadata: { secret_expires_at: 'x' }, events: [{ type: 'connection.secret_expiring' }] }; // prettier-ignore
    }).run();
    expect(await metadataOf(row.id)).toEqual({ tenant_id: 't' });
    expect(mine(row.id)).toEqual([]);
  });

  it('two workers deciding from the same row raise the event once', async () => {
    const row = await azureConnection({ tenant_id: 't', secret_expires_at: '2026-12-10T00:00:00.000Z' }); // prettier-ignore
    let arrived = 0;
    let release!: () => void;
    const bothDecided = new Promise<void>((r) => (release = r));
    const decide = async (c: ConnectionEntity): Promise<MaintainOutcome | null> => {
      if (c.id !== row.id) return null;
      if (++arrived === 2) release();
      await bothDecided;
      return c.metadata.secret_expiring_raised_for
        ? null
        : {
            metadata: { secret_expiring_raised_for: '2026-12-10T00:00:00.000Z' },
            events: [{ type: 'connection.secret_expiring' }],
          };
    };
    await Promise.all([maintenance(decide).run(), maintenance(decide).run()]);
    expect(mine(row.id).map((e) => e.type)).toEqual(['connection.secret_expiring']);
    // And the next pass, from the row as it is now, raises nothing.
    await maintenance(async (c) => (c.id === row.id ? decide(c) : null)).run();
    expect(mine(row.id)).toHaveLength(1);
  });

  it('writes nothing for a driver that found nothing due, and audits a failure', async () => {
    const quiet = await azureConnection();
    const broken = await azureConnection();
    await maintenance(async (c) => {
      if (c.id === broken.id) throw new Error('boom');
      return null;
    }).run();
    expect(await metadataOf(quiet.id)).toEqual({ tenant_id: 't' });
    expect(mine(quiet.id)).toEqual([]);
    expect(audits).toContainEqual(
      expect.objectContaining({ action: 'setup.maintained', outcome: 'failure', errorCode: 'unexpected' }), // prettier-ignore
    );
  });
});
