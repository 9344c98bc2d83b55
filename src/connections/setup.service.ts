import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import { type Queue } from 'bullmq';
import { AuditService } from '../audit/audit.service';
import { type Caller, callerActor } from '../auth/caller';
import { BrokerError } from '../common/error-codes';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { ConnectionsService } from './connections.service';
import { type SetupRunEntity, type SetupStepState } from '../database/entities';
import { type Provider } from '../database/enums';
import { SetupRunsRepository } from '../database/repositories/setup-runs.repository';
import { QUEUES, setupJobName, setupRetryJobId } from '../jobs/queues';
import { ProviderRegistry } from '../providers/provider-registry';
import { type SetupDefinition } from '../providers/setup-definition';
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
    private readonly providers: ProviderRegistry,
  ) {}

  async get(caller: Caller, id: string): Promise<SetupView> {
    const connection = await this.connections.findOwned(caller, id);
    const setup = this.providers.setupOf(connection.provider);
    const run = setup ? await this.runs.findLatest(connection.id) : null;
    if (setup && run) return present(run, setup);
    return {
      status: setup ? connection.setupStatus : 'not_applicable',
      progress: 0,
      current_step: null,
      steps: (setup?.stepNames ?? []).map((name) => ({ name, status: 'pending' })),
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
    const setup = this.providers.setupOf(connection.provider);
    if (!setup) {
      throw new BrokerError('conflict', `${connection.provider} connections have no setup`);
    }
    if (connection.status === 'needs_reauth') {
      throw new BrokerError('needs_reauth', 'Reconnect the account before running setup again');
    }
    if (connection.status === 'revoked')
      throw new BrokerError('conflict', 'The connection is revoked');
    const run = await this.runs.findOrCreate(connection.id, [...setup.stepNames]);
    const input = this.acceptInput(connection.provider, setup, run, body);
    const attempt = await this.runs.claimRetry(run.id, {
      status: 'pending',
      errorCode: null,
      finishedAt: null,
      steps: resetSteps(run, setup, input?.changed ?? false),
      ...(input ? { inputs: input.inputs } : {}),
    });
    if (attempt === null) throw new BrokerError('conflict', 'Setup is already running');
    await this.runs.setConnectionSetupStatus(connection.id, 'pending');
    try {
      await this.queue.add(
        setupJobName(connection.provider),
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
      details: { attempt, ...(input ? { inputs: input.inputs } : {}) },
    });
    const latest = await this.runs.findLatest(connection.id);
    return present(latest ?? run, setup);
  }

  /** The retry's input as the provider's setup accepts it; undefined when it brings none. */
  private acceptInput(
    provider: Provider,
    setup: SetupDefinition,
    run: SetupRunEntity,
    body: RetrySetupBody,
  ): ReturnType<NonNullable<SetupDefinition['input']>['accept']> {
    const given = Object.entries(body).filter(([, value]) => value !== undefined);
    if (!setup.input) {
      const [name] = given[0] ?? [];
      if (name !== undefined) throw invalid(name, `is not accepted for ${provider} setup`);
      return undefined;
    }
    return setup.input.accept(body, run, this.config);
  }
}

function invalid(path: string, message: string): BrokerError {
  return new BrokerError('validation_failed', 'The body is not valid', {
    errors: [{ path, message }],
  });
}

/**
 * What a retry re-runs: every step not finished, and — when the input changes — every step after
 * the one the input depends on (their saved per-item state still skips done work).
 */
function resetSteps(
  run: SetupRunEntity,
  definition: SetupDefinition,
  changed: boolean,
): SetupStepState[] {
  const boundary = definition.input
    ? definition.stepNames.indexOf(definition.input.resetsStepsAfter)
    : -1;
  return definition.stepNames.map((name, index) => {
    const current = run.steps.find((s) => s.name === name);
    const keep =
      current &&
      (current.status === 'succeeded' || current.status === 'skipped') &&
      !(changed && index > boundary);
    return keep ? current : { name, status: 'pending' };
  });
}

export function present(run: SetupRunEntity, definition: SetupDefinition): SetupView {
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
    ...definition.present?.(run),
    attempts: run.attempts,
    updated_at: run.updatedAt.toISOString(),
    finished_at: run.finishedAt?.toISOString() ?? null,
  };
}
