import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../config/config';
import { Clock } from '../../../common/clock';
import {
  type SetupContext,
  type SetupStep,
  SetupStepError,
  type StepOutcome,
} from '../../setup-step';
import { GcpSetupClient } from './gcp-setup.client';
import { toStepError } from './google-api-error';
import { selectedProjects } from './list-projects.step';

/** Service Usage takes at most 20 services per batchEnable call. */
export const ENABLE_BATCH_SIZE = 20;
const ROLES = ['roles/serviceusage.serviceUsageAdmin'];
/** google.rpc.Code PERMISSION_DENIED inside a failed operation. */
const RPC_PERMISSION_DENIED = 7;

export interface ProjectApis {
  status: 'enabled' | 'skipped';
  reason?: string;
  /** Batches already enabled (index into the batches of GCP_REQUIRED_APIS). */
  batches_done: number;
}

export interface EnableApisState {
  projects: Record<string, ProjectApis>;
  /** The operation being polled, so a re-run polls it instead of enabling again. */
  pending?: { project_id: string; batch: number; operation: string };
}

/** enable_apis: GCP_REQUIRED_APIS on every selected project with billing, batch by batch. */
@Injectable()
export class EnableApisStep implements SetupStep {
  readonly name = 'enable_apis';

  constructor(
    private readonly google: GcpSetupClient,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async run(ctx: SetupContext): Promise<StepOutcome> {
    const projects = selectedProjects(ctx, this.config.gcp.setupMaxProjects);
    const state: EnableApisState = ctx.state<EnableApisState>() ?? { projects: {} };
    const batches = chunk(this.config.gcp.requiredApis, ENABLE_BATCH_SIZE);
    for (const [i, project] of projects.entries()) {
      const id = project.project_id;
      const done = state.projects[id] ?? { status: 'enabled', batches_done: 0 };
      if (!project.billing_enabled) {
        state.projects[id] = {
          status: 'skipped',
          reason: 'billing is not enabled',
          batches_done: 0,
        };
        await ctx.saveState(state);
        continue;
      }
      for (let batch = done.batches_done; batch < batches.length; batch++) {
        const token = await ctx.accessToken();
        let operation =
          state.pending?.project_id === id && state.pending.batch === batch
            ? state.pending.operation
            : undefined;
        if (operation === undefined) {
          const started = await this.call(
            () => this.google.batchEnable(token, id, batches[batch]),
            id,
          );
          operation = started.name;
          if (!started.done) {
            state.pending = { project_id: id, batch, operation };
            await ctx.saveState(state);
          }
          if (started.done) this.check(started.error, id);
          else await this.wait(ctx, id, operation);
        } else {
          await this.wait(ctx, id, operation);
        }
        done.batches_done = batch + 1;
        state.projects[id] = done;
        delete state.pending;
        await ctx.saveState(state);
      }
      state.projects[id] = { ...done, status: 'enabled' };
      await ctx.saveState(state);
      await ctx.progress(
        (i + 1) / projects.length,
        `APIs enabled on ${i + 1} of ${projects.length} projects`,
      );
    }
    const skipped = projects.filter((p) => state.projects[p.project_id]?.status === 'skipped');
    const enabled = projects.length - skipped.length;
    return {
      status: 'succeeded',
      detail:
        `APIs enabled on ${enabled} project(s)` +
        (skipped.length
          ? `; skipped (no billing): ${skipped.map((p) => p.project_id).join(', ')}`
          : ''),
    };
  }

  /** Polls the long-running operation until done, bounded by GCP_SETUP_OPERATION_TIMEOUT_SECONDS. */
  private async wait(ctx: SetupContext, projectId: string, name: string): Promise<void> {
    const deadline = this.clock.now() + this.config.gcp.setup.operationTimeoutMs;
    for (;;) {
      const op = await this.call(
        async () => this.google.getOperation(await ctx.accessToken(), name),
        projectId,
      );
      if (op.done) return this.check(op.error, projectId);
      if (this.clock.now() >= deadline) {
        throw new SetupStepError(
          'gcp_operation_timeout',
          `Enabling APIs on ${projectId} did not finish in time`,
          { retryable: true },
        );
      }
      await this.clock.sleep(this.config.gcp.setup.pollMs);
    }
  }

  private check(error: { code: number; message: string } | undefined, projectId: string): void {
    if (!error) return;
    if (error.code === RPC_PERMISSION_DENIED) {
      throw new SetupStepError(
        'gcp_permission_denied',
        `Google denied enabling APIs on ${projectId}; the signed-in user needs ${ROLES.join(', ')}`,
        { retryable: false, result: { missing_roles: ROLES } },
      );
    }
    throw new SetupStepError(
      'gcp_enable_failed',
      `Enabling APIs on ${projectId} failed (code ${error.code})`,
      {
        retryable: true,
      },
    );
  }

  private async call<T>(fn: () => Promise<T>, projectId: string): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toStepError(err, `enabling APIs on ${projectId}`, ROLES);
    }
  }
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
