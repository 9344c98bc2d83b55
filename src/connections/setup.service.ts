import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import { type Queue } from 'bullmq';
import { AuditService } from '../audit/audit.service';
import { type Caller, callerActor } from '../auth/caller';
import { BrokerError } from '../common/error-codes';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { ConnectionsService } from './connections.service';
import { type SetupRunEntity, type SetupStepState } from '../database/entities';
import { SetupRunsRepository } from '../database/repositories/setup-runs.repository';
import { QUEUES } from '../jobs/queues';
import { type SetupDefinition } from '../lifecycle/setup/setup-definition';
import { setupJobFor, setupRetryJobId } from '../lifecycle/setup/setup-jobs';
import { type RetrySetupBody, type SetupView } from './setup.schemas';

/** GET /connections/:id/setup and POST /connections/:id/setup/retry. */
@Injectable()
export class SetupService {
  private readonly logger = new Logger(SetupService.name);

  constructor(
    private readonly connections: ConnectionsService,
    private readonly runs: SetupRunsRepository,
    @InjectQueue(QUEUES.setup) private readonly queue: Queue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly audit: AuditService,
  ) {}

  async get(caller: Caller, id: string): Promise<SetupView> {
    const connection = await this.connections.findOwned(caller, id);
    const job = setupJobFor(connection.provider);
    const run = job ? await this.runs.findLatest(connection.id) : null;
    if (run) return present(run);
    return {
      status: job ? connection.setupStatus : 'not_applicable',
      progress: 0,
      current_step: null,
      steps: (job?.definition.steps ?? []).map((name) => ({ name, status: 'pending' })),
      attempts: 0,
      updated_at: null,
      finished_at: null,
    };
  }

  async retry(
    caller: Caller,
    id: string,
    body: RetrySetupBody,
    requestId?: string,
  ): Promise<SetupView> {
    const connection = await this.connections.findOwned(caller, id);
    const job = setupJobFor(connection.provider);
    if (!job) throw new BrokerError('conflict', `${connection.provider} connections have no setup`);
    if (connection.status === 'needs_reauth') {
      throw new BrokerError('needs_reauth', 'Reconnect the account before running setup again');
    }
    if (connection.status === 'revoked')
      throw new BrokerError('conflict', 'The connection is revoked');
    const run = await this.runs.findOrCreate(connection.id, [...job.definition.steps]);
    const selection = this.validateSelection(job.definition, run, body.project_ids);
    const attempt = await this.runs.claimRetry(run.id, {
      status: 'pending',
      errorCode: null,
      finishedAt: null,
      steps: resetSteps(run, job.definition, selection),
      ...(selection ? { selection } : {}),
    });
    if (attempt === null) throw new BrokerError('conflict', 'Setup is already running');
    await this.runs.setConnectionSetupStatus(connection.id, 'pending');
    try {
      await this.queue.add(
        job.name,
        { connectionId: connection.id },
        { jobId: setupRetryJobId(connection.id, attempt) },
      );
    } catch (err) {
      this.logger.error({ err, connectionId: connection.id }, 'could not enqueue setup retry');
      await this.runs.update(run.id, { status: 'failed', errorCode: 'enqueue_failed' });
      await this.runs.setConnectionSetupStatus(connection.id, 'failed');
      throw new BrokerError('service_unavailable', 'The job queue is unavailable; try again later');
    }
    await this.audit.record({
      ...callerActor(caller),
      action: 'setup.retry',
      outcome: 'success',
      connectionId: connection.id,
      provider: connection.provider,
      requestId,
      details: { attempt, ...(selection ? { project_ids: selection } : {}) },
    });
    const latest = await this.runs.findLatest(connection.id);
    return present(latest ?? run);
  }

  /** The selection, checked against the eligible projects setup found; undefined when none was sent. */
  private validateSelection(
    definition: SetupDefinition,
    run: SetupRunEntity,
    projectIds: string[] | undefined,
  ): string[] | undefined {
    const rule = definition.selection;
    if (projectIds === undefined) {
      if (run.status === 'needs_selection') {
        throw invalid('project_ids', 'is required: setup is waiting for a project selection');
      }
      return undefined;
    }
    if (!rule) throw invalid('project_ids', `is not accepted for ${definition.provider} setup`);
    if (!run.eligibleProjects) {
      throw new BrokerError(
        'conflict',
        'Setup has not listed the projects yet; retry without project_ids',
      );
    }
    const eligible = new Set(run.eligibleProjects.map((p) => p.project_id));
    const unknown = projectIds.filter((p) => !eligible.has(p));
    if (unknown.length > 0) {
      throw invalid('project_ids', `not among the eligible projects: ${unknown.join(', ')}`);
    }
    const max = rule.max(this.config);
    if (projectIds.length > max) throw invalid('project_ids', `must name at most ${max} projects`);
    return projectIds;
  }
}

function invalid(path: string, message: string): BrokerError {
  return new BrokerError('validation_failed', 'The body is not valid', {
    errors: [{ path, message }],
  });
}

/**
 * What a retry re-runs: every step not finished, and — when the selection changes — every step
 * after the one that listed the projects (their saved per-project state still skips done work).
 */
function resetSteps(
  run: SetupRunEntity,
  definition: SetupDefinition,
  selection: string[] | undefined,
): SetupStepState[] {
  const changed =
    selection !== undefined && JSON.stringify(selection) !== JSON.stringify(run.selection);
  const boundary = definition.selection
    ? definition.steps.indexOf(definition.selection.resetsStepsAfter)
    : -1;
  return definition.steps.map((name, index) => {
    const current = run.steps.find((s) => s.name === name);
    const keep =
      current &&
      (current.status === 'succeeded' || current.status === 'skipped') &&
      !(changed && index > boundary);
    return keep ? current : { name, status: 'pending' };
  });
}

export function present(run: SetupRunEntity): SetupView {
  return {
    status: run.status,
    progress: run.progress,
    current_step: run.currentStep,
    steps: run.steps.map((s) => ({
      name: s.name,
      status: s.status,
      ...(s.detail ? { detail: s.detail } : {}),
      ...(s.error_code ? { error_code: s.error_code } : {}),
    })),
    ...(run.result ? { result: run.result } : {}),
    ...(run.errorCode ? { error_code: run.errorCode } : {}),
    ...(run.eligibleProjects ? { eligible_projects: run.eligibleProjects } : {}),
    ...(run.selection ? { selection: run.selection } : {}),
    attempts: run.attempts,
    updated_at: run.updatedAt.toISOString(),
    finished_at: run.finishedAt?.toISOString() ?? null,
  };
}
