import { type DataSource, type Repository } from 'typeorm';
import { type AuditInput } from '../../../src/audit/audit.service';
import { type BatchPolicy, BatchedAuditWriter } from '../../../src/audit/batched-audit-writer';
import { AuditEventEntity } from '../../../src/database/entities';
import { type TestDataSource, openTestDataSource } from '../../support/postgres';

/** An audit table that records the rows of each INSERT (its one JSON parameter), or fails while `down`. */
class RecordingEvents {
  readonly inserts: Record<string, unknown>[][] = [];
  down = false;

  async query(sql: string, [rows]: [string]): Promise<void> {
    if (this.down) throw new Error('connection refused');
    expect(sql).toMatch(/^INSERT INTO audit_events/);
    this.inserts.push(JSON.parse(rows) as Record<string, unknown>[]);
  }

  asRepository(): Repository<AuditEventEntity> {
    return this as unknown as Repository<AuditEventEntity>;
  }
}

const read = (n: number): AuditInput => ({
  actorType: 'api_key',
  actorId: 'key-1',
  action: 'token.read',
  outcome: 'success',
  connectionId: `c-${n}`,
  provider: 'gcp',
});

describe('BatchedAuditWriter', () => {
  let events: RecordingEvents;
  let dropped: number;
  const policy = (extra: Partial<BatchPolicy> = {}): BatchPolicy => ({
    what: 'test audit',
    flushAt: 3,
    flushEveryMs: 60_000,
    dropped: (rows) => (dropped += rows),
    ...extra,
  });

  beforeEach(() => {
    events = new RecordingEvents();
    dropped = 0;
  });

  it('writes one multi-row INSERT once flushAt rows wait, each row as the audit table has it', async () => {
    const writer = new BatchedAuditWriter(events.asRepository(), policy());
    const at = new Date('2026-12-02T05:00:00Z');
    writer.record(read(1), at);
    writer.record(read(2), at);
    expect(events.inserts).toHaveLength(0);
    writer.record(read(3), at);
    await writer.flush();
    expect(events.inserts).toHaveLength(1);
    expect(events.inserts[0]).toHaveLength(3);
    expect(events.inserts[0][0]).toEqual({
      occurred_at: at.toISOString(),
      actor_type: 'api_key',
      actor_id: 'key-1',
      action: 'token.read',
      outcome: 'success',
      connection_id: 'c-1',
      provider: 'gcp',
      error_code: null,
      request_id: null,
      details: {},
    });
  });

  describe('against Postgres', () => {
    let db: TestDataSource;
    let ds: DataSource;
    beforeAll(async () => {
      db = await openTestDataSource();
      ds = db.ds;
    });
    afterAll(async () => {
      await db.close();
    });

    it('writes each row of a batch as the audit table has it, its id from the table', async () => {
      const table = ds.getRepository(AuditEventEntity);
      const writer = new BatchedAuditWriter(table, policy({ flushAt: 2 }));
      const at = new Date('2026-12-02T05:00:00.123Z');
      const connectionId = '6f1c1b8e-4a59-4b0e-9d0c-2d6f1c1b8e4a';
      writer.record(
        {
          ...read(1),
          connectionId,
          outcome: 'failure',
          errorCode: 'invalid_grant',
          requestId: 'req-1',
          details: { trigger: 'scheduled', quote: `it's "x"` },
        },
        at,
      );
      writer.record({ ...read(2), connectionId: undefined, provider: undefined }, at);
      await writer.flush();
      const rows = await table.find({ order: { action: 'ASC', errorCode: 'ASC' } });
      expect(rows).toHaveLength(2);
      expect(rows.map(({ id, ...rest }) => [typeof id, rest])).toEqual([
        [
          'string',
          {
            occurredAt: at,
            actorType: 'api_key',
            actorId: 'key-1',
            action: 'token.read',
            connectionId,
            provider: 'gcp',
            outcome: 'failure',
            errorCode: 'invalid_grant',
            requestId: 'req-1',
            details: { trigger: 'scheduled', quote: `it's "x"` },
          },
        ],
        [
          'string',
          {
            occurredAt: at,
            actorType: 'api_key',
            actorId: 'key-1',
            action: 'token.read',
            connectionId: null,
            provider: null,
            outcome: 'success',
            errorCode: null,
            requestId: null,
            details: {},
          },
        ],
      ]);
      expect(dropped).toBe(0);
    });
  });

  it('writes what waits after flushEveryMs, without more rows coming', async () => {
    const writer = new BatchedAuditWriter(events.asRepository(), policy({ flushEveryMs: 20 }));
    writer.record(read(1));
    await new Promise((r) => setTimeout(r, 60));
    expect(events.inserts.map((rows) => rows.length)).toEqual([1]);
  });

  it('drops and counts rows past maxBuffered, and the rows of a failed write; never throws', async () => {
    const writer = new BatchedAuditWriter(
      events.asRepository(),
      policy({ flushAt: 100, maxBuffered: 2 }),
    );
    writer.record(read(1));
    writer.record(read(2));
    writer.record(read(3)); // full
    expect(dropped).toBe(1);
    events.down = true;
    await expect(writer.flush()).resolves.toBeUndefined();
    expect(dropped).toBe(3);
    expect(events.inserts).toHaveLength(0);
  });

  it('without maxBuffered keeps every row', async () => {
    const writer = new BatchedAuditWriter(events.asRepository(), policy({ flushAt: 10_000 }));
    for (let i = 0; i < 5_000; i++) writer.record(read(i));
    await writer.flush();
    expect(events.inserts[0]).toHaveLength(5_000);
    expect(dropped).toBe(0);
  });

  it('writes what is pending at shutdown, and afterwards each row at once', async () => {
    const writer = new BatchedAuditWriter(events.asRepository(), policy({ flushAt: 100 }));
    writer.record(read(1));
    await writer.onApplicationShutdown();
    expect(events.inserts.map((rows) => rows.length)).toEqual([1]);
    writer.record(read(2));
    await writer.flush();
    expect(events.inserts.map((rows) => rows.length)).toEqual([1, 1]);
  });
});
