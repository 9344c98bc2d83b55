import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { type EntityManager, type Repository } from 'typeorm';
import { type QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { ConnectionEntity, SetupRunEntity, type SetupStepState } from '../entities';
import { type SetupStatus } from '../enums';

/** The run states from which a new attempt may start (anything but pending/running). */
export const RESTARTABLE_SETUP_STATUSES: SetupStatus[] = [
  'needs_selection',
  'succeeded',
  'partial',
  'failed',
];

export type SetupRunChanges = Partial<
  Pick<
    SetupRunEntity,
    | 'status'
    | 'progress'
    | 'currentStep'
    | 'steps'
    | 'result'
    | 'errorCode'
    | 'inputs'
    | 'finishedAt'
  >
>;

/**
 * setup_runs, and the two connection columns setup owns (`setup_status`, metadata keys merged in).
 * One run per connection is kept and advanced: a re-run resumes it, so finished steps stay finished.
 */
@Injectable()
export class SetupRunsRepository {
  constructor(
    @InjectRepository(SetupRunEntity) private readonly runs: Repository<SetupRunEntity>,
    @InjectRepository(ConnectionEntity) private readonly connections: Repository<ConnectionEntity>,
  ) {}

  async findLatest(connectionId: string): Promise<SetupRunEntity | null> {
    return this.runs.findOne({ where: { connectionId }, order: { createdAt: 'DESC' } });
  }

  /** The connection's run, created with every step pending when it has none yet. */
  async findOrCreate(connectionId: string, stepNames: string[]): Promise<SetupRunEntity> {
    const existing = await this.findLatest(connectionId);
    if (existing) return existing;
    const steps: SetupStepState[] = stepNames.map((name) => ({ name, status: 'pending' }));
    return this.runs.save(this.runs.create({ connectionId, status: 'pending', steps }));
  }

  /** `manager`: inside that transaction (setup's final write, with its webhook event). */
  async update(id: string, changes: SetupRunChanges, manager?: EntityManager): Promise<void> {
    // TypeORM's deep-partial type cannot see through the jsonb columns.
    const runs = manager ? manager.getRepository(SetupRunEntity) : this.runs;
    await runs.update({ id }, changes as QueryDeepPartialEntity<SetupRunEntity>);
  }

  /**
   * Claims a new attempt of a finished (or never started) run: one caller wins when two retry at
   * once. Returns the new attempt number, or null when the run is under way (or gone).
   */
  async claimRetry(id: string, changes: SetupRunChanges): Promise<number | null> {
    const result = await this.runs
      .createQueryBuilder()
      .update(SetupRunEntity)
      .set({
        ...(changes as QueryDeepPartialEntity<SetupRunEntity>),
        attempts: () => 'attempts + 1',
      })
      // A run that was created but never started (attempts 0) may be claimed too.
      .where("id = :id AND (status IN (:...statuses) OR (status = 'pending' AND attempts = 0))", {
        id,
        statuses: RESTARTABLE_SETUP_STATUSES,
      })
      .returning('attempts')
      .execute();
    const row = (result.raw as { attempts?: number }[])[0];
    return row?.attempts ?? null;
  }

  /** A disconnect forgets the runs: a reconnect starts setup afresh (SPEC §6). */
  async deleteForConnection(connectionId: string, manager?: EntityManager): Promise<void> {
    const runs = manager ? manager.getRepository(SetupRunEntity) : this.runs;
    await runs.delete({ connectionId });
  }

  async setConnectionSetupStatus(
    connectionId: string,
    status: SetupStatus,
    manager?: EntityManager,
  ): Promise<void> {
    const connections = manager ? manager.getRepository(ConnectionEntity) : this.connections;
    await connections.update({ id: connectionId }, { setupStatus: status });
  }

  /** Merges keys into the connection's metadata in one statement, so no concurrent write is lost. */
  async mergeConnectionMetadata(
    connectionId: string,
    metadata: Record<string, unknown>,
  ): Promise<void> {
    await this.connections
      .createQueryBuilder()
      .update(ConnectionEntity)
      .set({ metadata: () => 'metadata || CAST(:patch AS jsonb)' })
      .setParameter('patch', JSON.stringify(metadata))
      .where('id = :id', { id: connectionId })
      .execute();
  }
}
