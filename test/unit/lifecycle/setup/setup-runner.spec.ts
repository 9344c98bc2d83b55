import { Logger } from '@nestjs/common';
import { type AuditService } from '../../../../src/audit/audit.service';
import { type ConnectionEntity, type SetupRunEntity } from '../../../../src/database/entities';
import { type ConnectionsRepository } from '../../../../src/database/repositories/connections.repository';
import { type SetupRunsRepository } from '../../../../src/database/repositories/setup-runs.repository';
import { setupJobDefaults } from '../../../../src/jobs/queues';
import { SetupRunner } from '../../../../src/lifecycle/setup/setup-runner';
import { RecordingOutbox } from '../../../support/recording-outbox';
import { type ProviderRegistry } from '../../../../src/providers/provider-registry';
import { type SetupDefinition } from '../../../../src/providers/setup-definition';
import {
  type SetupContext,
  SetupNeedsSelection,
  type SetupStep,
  SetupStepError,
  type StepOutcome,
} from '../../../../src/providers/setup-step';

const GCP_STEPS = [
  'list_projects',
  'enable_apis',
  'service_accounts',
  'iam_bindings',
  'propagation_check',
  'billing_exports',
];

/** A step that records its calls and does what the test says. */
function step(
  name: string,
  behave: (ctx: SetupContext) => Promise<StepOutcome> = async () => ({ status: 'succeeded' }),
) {
  const calls: number[] = [];
  const s: SetupStep & { calls: number[] } = {
    name,
    calls,
    run: async (ctx) => {
      calls.push(1);
      return behave(ctx);
    },
  };
  return s;
}

function harness(steps: SetupStep[]) {
  let run: SetupRunEntity | null = null;
  const connection = {
    id: 'c1',
    provider: 'gcp',
    status: 'active',
    setupStatus: 'pending',
    userId: 'u',
  } as ConnectionEntity;
  const statuses: string[] = [];
  const audits: string[] = [];
  const outbox = new RecordingOutbox();
  const runs = {
    findOrCreate: async (_id: string, names: string[]) =>
      (run ??= {
        id: 'r1',
        connectionId: 'c1',
        status: 'pending',
        progress: 0,
        currentStep: null,
        steps: names.map((n) => ({ name: n, status: 'pending' })),
        result: null,
        errorCode: null,
        inputs: null,
        attempts: 0,
      } as unknown as SetupRunEntity),
    update: async (_id: string, changes: Partial<SetupRunEntity>) => {
      run = { ...(run as SetupRunEntity), ...structuredClone(changes) };
    },
    setConnectionSetupStatus: async (_id: string, s: string) => {
      statuses.push(s);
    },
    mergeConnectionMetadata: async () => undefined,
    findLatest: async () => run,
  } as unknown as SetupRunsRepository;
  const connections = {
    findById: async () => ({ ...connection }),
  } as unknown as ConnectionsRepository;
  const audit = {
    record: async (a: { action: string }) => void audits.push(a.action),
  } as unknown as AuditService;
  const setup: SetupDefinition = { stepNames: GCP_STEPS, steps };
  const providers = {
    setupOf: (provider: string) => (provider === 'gcp' ? setup : undefined),
    setups: () => [{ provider: 'gcp', setup }],
  } as unknown as ProviderRegistry;
  const runner = new SetupRunner(
    providers,
    runs,
    connections,
    { accessToken: async () => 'tok' },
    audit,
    outbox.asOutbox(),
  );
  return {
    runner,
    connection,
    get run() {
      return run as SetupRunEntity;
    },
    statuses,
    audits,
    outbox,
  };
}

describe('SetupRunner', () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });
  it('runs every step in order, persists progress, and the connection follows to succeeded', async () => {
    const steps = GCP_STEPS.map((n) => step(n));
    const h = harness(steps);
    const outcome = await h.runner.run('c1', { lastAttempt: false });
    expect(outcome).toEqual({ kind: 'finished', status: 'succeeded' });
    expect(h.run.progress).toBe(100);
    expect(h.run.steps.every((s) => s.status === 'succeeded')).toBe(true);
    expect(h.statuses).toEqual(['running', 'succeeded']);
    expect(h.audits).toEqual(['setup.succeeded']);
    expect(h.outbox.types()).toEqual(['setup.finished']);
  });

  it('resumes after a retryable failure without re-running finished steps', async () => {
    let fail = true;
    const steps = GCP_STEPS.map((n) =>
      n === 'service_accounts'
        ? step(n, async () => {
            if (fail)
              throw new SetupStepError('gcp_unavailable', 'Google did not answer', {
                retryable: true,
              });
            return { status: 'succeeded' };
          })
        : step(n),
    );
    const h = harness(steps);
    const first = await h.runner.run('c1', { lastAttempt: false });
    expect(first.kind).toBe('retry');
    expect(h.run.status).toBe('running');
    expect(h.run.steps[2]).toMatchObject({ status: 'pending', error_code: 'gcp_unavailable' });
    fail = false;
    await h.runner.run('c1', { lastAttempt: false });
    expect(steps.map((s) => s.calls.length)).toEqual([1, 1, 2, 1, 1, 1]);
    expect(h.run.status).toBe('succeeded');
  });

  it('fails the run on the last attempt of a retryable error', async () => {
    const boom = step('enable_apis', async () => {
      throw new SetupStepError('gcp_operation_timeout', 'too slow', { retryable: true });
    });
    const h = harness(GCP_STEPS.map((n) => (n === 'enable_apis' ? boom : step(n))));
    const outcome = await h.runner.run('c1', { lastAttempt: true });
    expect(outcome.kind).toBe('failed');
    expect(h.run).toMatchObject({ status: 'failed', errorCode: 'gcp_operation_timeout' });
    expect(h.statuses.at(-1)).toBe('failed');
  });

  it('fails at once on a permission error and keeps the roles the user lacks', async () => {
    const denied = step('iam_bindings', async () => {
      throw new SetupStepError('gcp_permission_denied', 'denied', {
        retryable: false,
        result: { missing_roles: ['roles/x'] },
      });
    });
    const h = harness(GCP_STEPS.map((n) => (n === 'iam_bindings' ? denied : step(n))));
    const outcome = await h.runner.run('c1', { lastAttempt: false });
    expect(outcome.kind).toBe('failed');
    expect(h.run.result).toMatchObject({ missing_roles: ['roles/x'] });
    expect(h.run.steps[3]).toMatchObject({ status: 'failed', error_code: 'gcp_permission_denied' });
  });

  it('stops at needs_selection and marks a partial step as a partial run', async () => {
    const gate = step('enable_apis', async () => {
      throw new SetupNeedsSelection(9);
    });
    const h = harness(GCP_STEPS.map((n) => (n === 'enable_apis' ? gate : step(n))));
    expect(await h.runner.run('c1', { lastAttempt: false })).toEqual({
      kind: 'finished',
      status: 'needs_selection',
    });
    expect(h.run.steps[1]).toMatchObject({ status: 'pending' });

    const partial = harness(
      GCP_STEPS.map((n) =>
        n === 'propagation_check'
          ? step(n, async () => ({ status: 'partial', errorCode: 'late' }))
          : step(n),
      ),
    );
    expect(await partial.runner.run('c1', { lastAttempt: false })).toEqual({
      kind: 'finished',
      status: 'partial',
    });
  });

  it('marks a run whose job BullMQ gave up on (stalled too often) as failed', async () => {
    let release: () => void = () => undefined;
    const hang = step(
      'enable_apis',
      () => new Promise<StepOutcome>((r) => (release = () => r({ status: 'succeeded' }))),
    );
    const h = harness(GCP_STEPS.map((n) => (n === 'enable_apis' ? hang : step(n))));
    const running = h.runner.run('c1', { lastAttempt: false });
    await new Promise((r) => setTimeout(r, 10));
    expect(h.run.status).toBe('running');
    await h.runner.abandon('c1', 'worker_lost', 'lost');
    expect(h.run).toMatchObject({ status: 'failed', errorCode: 'worker_lost' });
    expect(h.run.steps[1]).toMatchObject({ status: 'failed', error_code: 'worker_lost' });
    expect(h.statuses.at(-1)).toBe('failed');
    release();
    await running;
  });

  it('stops between steps when the connection was disconnected, and a step that finds it so ends the run too', async () => {
    const h = harness(
      GCP_STEPS.map((n) =>
        n === 'enable_apis'
          ? step(n, async () => {
              h.connection.status = 'revoked'; // a DELETE lands while this step runs
              return { status: 'succeeded' };
            })
          : step(n),
      ),
    );
    const outcome = await h.runner.run('c1', { lastAttempt: false });
    expect(outcome).toEqual({ kind: 'skipped', reason: 'connection was revoked during setup' });
    expect(h.run.steps.map((s) => s.status)).toEqual([
      'succeeded',
      'succeeded',
      'pending',
      'pending',
      'pending',
      'pending',
    ]);

    const cancelling = harness(
      GCP_STEPS.map((n) =>
        n === 'list_projects'
          ? step(n, async (ctx) => {
              cancelling.connection.status = 'revoked';
              await ctx.assertConnected();
              return { status: 'succeeded' };
            })
          : step(n),
      ),
    );
    expect(await cancelling.runner.run('c1', { lastAttempt: false })).toEqual({
      kind: 'skipped',
      reason: 'connection was revoked during setup',
    });
  });

  it("refuses to start when a provider's steps drifted from its definition", () => {
    // A provider without a handler cannot exist any more: the steps come with the definition.
    expect(() => harness(GCP_STEPS.map((n) => step(n))).runner.assertHandlers()).not.toThrow();
    const drifted = harness(GCP_STEPS.slice(1).map((n) => step(n)));
    expect(() => drifted.runner.assertHandlers()).toThrow(/gcp setup runs/);
  });

  it('gives every setup job retries with exponential backoff', () => {
    const config = {
      setupJobs: {
        attempts: 7,
        backoffMs: 1234,
        concurrency: 1,
        lockMs: 1,
        stalledIntervalMs: 1,
        maxStalled: 1,
      },
    };
    expect(setupJobDefaults(config)).toMatchObject({
      attempts: 7,
      backoff: { type: 'exponential', delay: 1234 },
    });
  });
});
