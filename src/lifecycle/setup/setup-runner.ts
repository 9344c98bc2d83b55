import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { Clock, SYSTEM_CLOCK } from '../../common/clock';
import { AuditService } from '../../audit/audit.service';
import { type ConnectionEntity, type SetupRunEntity } from '../../database/entities';
import { type EntityManager } from 'typeorm';
import { type SetupStatus } from '../../database/enums';
import { ConnectionsRepository } from '../../database/repositories/connections.repository';
import {
  type SetupRunChanges,
  SetupRunsRepository,
} from '../../database/repositories/setup-runs.repository';
import { WebhookOutbox } from '../../events/webhook-outbox';
import { ProviderRegistry } from '../../providers/provider-registry';
import { type SetupDefinition } from '../../providers/setup-definition';
import {
  SetupCancelled,
  type SetupContext,
  SetupNeedsSelection,
  type SetupStep,
  SetupStepError,
} from '../../providers/setup-step';
import { ACCESS_TOKEN_SOURCE, type AccessTokenSource } from './access-token-source';

export interface RunProgress {
  progress: number;
  step: string | null;
}

export type RunOutcome =
  | { kind: 'finished'; status: SetupStatus }
  | { kind: 'retry'; error: SetupStepError }
  | { kind: 'failed'; error: SetupStepError }
  | { kind: 'skipped'; reason: string };

const DONE = new Set(['succeeded', 'skipped']);

/**
 * Advances a connection's setup run through its provider's steps. Finished steps are skipped, so
 * a job taken over from a dead worker, a BullMQ retry, or a user's retry resumes where the last
 * attempt stopped. Every transition is written to Postgres before the next call upstream.
 */
@Injectable()
export class SetupRunner {
  private readonly logger = new Logger(SetupRunner.name);

  constructor(
    private readonly providers: ProviderRegistry,
    private readonly runs: SetupRunsRepository,
    private readonly connections: ConnectionsRepository,
    @Inject(ACCESS_TOKEN_SOURCE) private readonly tokens: AccessTokenSource,
    private readonly audit: AuditService,
    private readonly outbox: WebhookOutbox,
    @Optional() private readonly clock: Clock = SYSTEM_CLOCK,
  ) {}

  /** Fails the worker's start when a provider's setup steps drifted from its definition's names. */
  assertHandlers(): void {
    for (const { provider, setup } of this.providers.setups()) {
      const names = setup.steps.map((s) => s.name).join(',');
      if (names !== setup.stepNames.join(',')) {
        throw new Error(
          `${provider} setup runs [${names}], defined as [${setup.stepNames.join(',')}]`,
        );
      }
    }
  }

  async run(
    connectionId: string,
    options: { lastAttempt: boolean; onProgress?: (progress: RunProgress) => Promise<void> },
  ): Promise<RunOutcome> {
    const { lastAttempt } = options;
    const connection = await this.connections.findById(connectionId);
    if (!connection) return { kind: 'skipped', reason: 'connection is gone' };
    if (connection.status === 'revoked')
      return { kind: 'skipped', reason: 'connection is revoked' };
    const plan = this.providers.setupOf(connection.provider);
    if (!plan) return { kind: 'skipped', reason: `${connection.provider} has no setup` };

    const run = await this.runs.findOrCreate(
      connectionId,
      plan.steps.map((s) => s.name),
    );
    const steps = plan.steps.map(
      (s) =>
        run.steps.find((st) => st.name === s.name) ?? { name: s.name, status: 'pending' as const },
    );
    run.steps = steps;
    const save = async (changes: SetupRunChanges) => {
      await this.save(run, connection, changes);
      if (changes.progress !== undefined || changes.currentStep !== undefined) {
        await options.onProgress?.({ progress: run.progress, step: run.currentStep });
      }
    };
    // Only the steps' saved states (and the metadata they added) carry over into a new
    // attempt; facts a failure added go.
    const result = {
      ...(run.result?.steps ? { steps: run.result.steps } : {}),
      ...(run.result?.[METADATA_KEYS] ? { [METADATA_KEYS]: run.result[METADATA_KEYS] } : {}),
    };
    await save({
      status: 'running',
      steps,
      result,
      errorCode: null,
      finishedAt: null,
    });

    for (const [index, step] of plan.steps.entries()) {
      const state = steps[index];
      if (DONE.has(state.status)) continue;
      // Disconnect wins over a run in flight: re-read before each step, stop when revoked.
      const current = await this.connections.findById(connectionId);
      if (!current || current.status === 'revoked') {
        return { kind: 'skipped', reason: 'connection was revoked during setup' };
      }
      Object.assign(state, { status: 'running', detail: undefined, error_code: undefined });
      await save({
        currentStep: step.name,
        progress: percent(index, 0, plan.steps.length),
        steps,
      });
      try {
        const outcome = await step.run(this.context(run, connection, step, index, plan));
        Object.assign(state, {
          status: outcome.status,
          detail: outcome.detail,
          error_code: outcome.errorCode,
        });
        await save({ steps, progress: percent(index + 1, 0, plan.steps.length) });
      } catch (err) {
        if (err instanceof SetupCancelled) {
          return { kind: 'skipped', reason: 'connection was revoked during setup' };
        }
        if (err instanceof SetupNeedsSelection) {
          Object.assign(state, { status: 'pending', detail: err.message });
          await this.finish(run, connection, 'needs_selection', null);
          return { kind: 'finished', status: 'needs_selection' };
        }
        const error =
          err instanceof SetupStepError
            ? err
            : new SetupStepError('internal_error', `${step.name} failed unexpectedly`, {
                retryable: true,
                cause: err,
              });
        this.logger.warn(
          { err, connectionId, step: step.name, code: error.code },
          `setup step ${step.name} failed: ${error.code}`,
        );
        if (error.retryable && !lastAttempt) {
          Object.assign(state, {
            status: 'pending',
            detail: `${error.detail} (will retry)`,
            error_code: error.code,
          });
          await save({ steps });
          return { kind: 'retry', error };
        }
        Object.assign(state, { status: 'failed', detail: error.detail, error_code: error.code });
        await this.finish(run, connection, 'failed', error.code, error.options.result);
        return { kind: 'failed', error };
      }
    }
    const status: SetupStatus = steps.some((s) => s.status === 'partial') ? 'partial' : 'succeeded';
    await this.finish(run, connection, status, null);
    return { kind: 'finished', status };
  }

  /**
   * A job BullMQ gave up on outside the runner (it stalled more than SETUP_JOB_MAX_STALLED times):
   * the run is marked failed, so it does not show `running` forever and a retry is allowed.
   */
  async abandon(connectionId: string, code: string, detail: string): Promise<void> {
    const run = await this.runs.findLatest(connectionId);
    const connection = await this.connections.findById(connectionId);
    if (!run || !connection || (run.status !== 'running' && run.status !== 'pending')) return;
    for (const state of run.steps) {
      if (state.status === 'running')
        Object.assign(state, { status: 'failed', detail, error_code: code });
    }
    await this.finish(run, connection, 'failed', code);
  }

  private context(
    run: SetupRunEntity,
    connection: ConnectionEntity,
    step: SetupStep,
    index: number,
    plan: SetupDefinition,
  ): SetupContext {
    const stepStates = (): Record<string, unknown> =>
      (run.result?.steps ?? {}) as Record<string, unknown>;
    return {
      connection,
      run,
      accessToken: () => this.tokens.accessToken(connection),
      state: <T extends object>() => stepStates()[step.name] as T | undefined,
      stateOf: <T extends object>(name: string) => stepStates()[name] as T | undefined,
      saveState: async (state) => {
        run.result = { ...run.result, steps: { ...stepStates(), [step.name]: state } };
        await this.runs.update(run.id, { result: run.result });
      },
      progress: async (fraction, detail) => {
        const current = run.steps[index];
        if (detail !== undefined) current.detail = detail;
        await this.runs.update(run.id, {
          progress: percent(index, fraction, plan.steps.length),
          steps: run.steps,
        });
      },
      mergeMetadata: async (metadata) => {
        // The keys are remembered with the run, so a disconnect can remove what setup added.
        const keys = [...new Set([...setupMetadataKeys(run.result), ...Object.keys(metadata)])];
        run.result = { ...run.result, [METADATA_KEYS]: keys };
        await this.runs.update(run.id, { result: run.result });
        await this.runs.mergeConnectionMetadata(connection.id, metadata);
      },
      assertConnected: async () => {
        const current = await this.connections.findById(connection.id);
        if (!current || current.status === 'revoked') throw new SetupCancelled();
      },
    };
  }

  private async save(
    run: SetupRunEntity,
    connection: ConnectionEntity,
    changes: SetupRunChanges,
    manager?: EntityManager,
  ): Promise<void> {
    Object.assign(run, changes);
    await this.runs.update(run.id, changes, manager);
    if (changes.status !== undefined && connection.setupStatus !== changes.status) {
      await this.runs.setConnectionSetupStatus(connection.id, changes.status, manager);
      connection.setupStatus = changes.status;
    }
  }

  private async finish(
    run: SetupRunEntity,
    connection: ConnectionEntity,
    status: SetupStatus,
    errorCode: string | null,
    facts?: Record<string, unknown>,
  ): Promise<void> {
    const result = facts ? { ...run.result, ...facts } : run.result;
    // The final write and `setup.finished` commit together (the webhook outbox). Waiting for a
    // selection is not finished: the run goes on after the user picks.
    await this.outbox.write(async (tx) => {
      await this.save(
        run,
        connection,
        {
          status,
          errorCode,
          result,
          steps: run.steps,
          currentStep: status === 'needs_selection' ? run.currentStep : null,
          progress: status === 'succeeded' || status === 'partial' ? 100 : run.progress,
          finishedAt: status === 'needs_selection' ? null : this.clock.date(),
        },
        tx.manager,
      );
      if (status === 'needs_selection') return;
      const current = await this.connections.findById(connection.id, tx.manager);
      if (current && current.status !== 'revoked') {
        await tx.emit('setup.finished', current, {
          setup: { status, error_code: errorCode },
        });
      }
    });
    await this.audit.record({
      actorType: 'system',
      action: `setup.${status}`,
      outcome: status === 'failed' ? 'failure' : 'success',
      connectionId: connection.id,
      provider: connection.provider,
      errorCode,
      details: { run_id: run.id, attempt: run.attempts },
    });
  }
}

/** Where a run remembers the connection metadata keys its steps added. */
const METADATA_KEYS = 'metadata_keys';

/** The connection metadata keys a run's steps added (SetupContext.mergeMetadata). */
export function setupMetadataKeys(result: Record<string, unknown> | null): string[] {
  const keys = result?.[METADATA_KEYS];
  return Array.isArray(keys) ? keys.filter((k): k is string => typeof k === 'string') : [];
}

function percent(done: number, fraction: number, total: number): number {
  return Math.min(100, Math.round(((done + Math.max(0, Math.min(1, fraction))) / total) * 100));
}
