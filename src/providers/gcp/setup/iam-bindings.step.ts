import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../config/config';
import { backoffMs } from '../../../common/backoff';
import { Clock } from '../../../common/clock';
import {
  type SetupContext,
  type SetupStep,
  SetupStepError,
  type StepOutcome,
} from '../../setup-step';
import { GcpSetupClient, type IamPolicy } from './gcp-setup.client';
import { GoogleApiError, toStepError } from './google-api-error';
import { selectedProjects } from './list-projects.step';
import { type ServiceAccountsState } from './service-accounts.step';

const ROLES = ['roles/resourcemanager.projectIamAdmin'];
/** Read-modify-write rounds per project before the step gives up (the job retries later). */
export const MAX_POLICY_ROUNDS = 6;

export interface IamBindingsState {
  /** Projects whose policy already holds every binding. */
  done: string[];
}

/** The bindings setup wants, as role → member. */
export function wantedBindings(
  accounts: ServiceAccountsState['accounts'],
  config: AppConfig['gcp'],
): [string, string][] {
  const out: [string, string][] = [];
  if (accounts.rw)
    for (const role of config.saRolesRw) out.push([role, `serviceAccount:${accounts.rw.email}`]);
  if (accounts.ro)
    for (const role of config.saRolesRo) out.push([role, `serviceAccount:${accounts.ro.email}`]);
  return out;
}

/**
 * Adds what is missing to a policy, touching only unconditional bindings; null when nothing is.
 * Conditional bindings (version 3) are kept as they are.
 */
export function withBindings(policy: IamPolicy, wanted: [string, string][]): IamPolicy | null {
  const bindings = (policy.bindings ?? []).map((b) => ({ ...b, members: [...(b.members ?? [])] }));
  let changed = false;
  for (const [role, member] of wanted) {
    let binding = bindings.find((b) => b.role === role && !b.condition);
    if (!binding) {
      binding = { role, members: [] };
      bindings.push(binding);
    }
    if (!binding.members.includes(member)) {
      binding.members.push(member);
      changed = true;
    }
  }
  return changed ? { ...policy, bindings, version: 3 } : null;
}

/**
 * iam_bindings: on each selected project, getIamPolicy (v3) → add the missing bindings →
 * setIamPolicy with the etag read; a concurrent change (409/ABORTED) means read again, with backoff.
 */
@Injectable()
export class IamBindingsStep implements SetupStep {
  readonly name = 'iam_bindings';

  constructor(
    private readonly google: GcpSetupClient,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async run(ctx: SetupContext): Promise<StepOutcome> {
    const projects = selectedProjects(ctx, this.config.gcp.setupMaxProjects);
    const accounts = ctx.stateOf<ServiceAccountsState>('service_accounts')?.accounts;
    if (!accounts?.rw && !accounts?.ro)
      return { status: 'skipped', detail: 'no service accounts to grant' };
    const wanted = wantedBindings(accounts, this.config.gcp);
    const state: IamBindingsState = ctx.state<IamBindingsState>() ?? { done: [] };
    for (const [i, project] of projects.entries()) {
      if (state.done.includes(project.project_id)) continue;
      await this.grant(ctx, project.project_id, wanted);
      state.done.push(project.project_id);
      await ctx.saveState(state);
      await ctx.progress((i + 1) / projects.length);
    }
    return { status: 'succeeded', detail: `roles granted on ${projects.length} project(s)` };
  }

  private async grant(
    ctx: SetupContext,
    projectId: string,
    wanted: [string, string][],
  ): Promise<void> {
    for (let round = 0; round < MAX_POLICY_ROUNDS; round++) {
      try {
        const token = await ctx.accessToken();
        const updated = withBindings(await this.google.getIamPolicy(token, projectId), wanted);
        if (updated === null) return;
        await this.google.setIamPolicy(token, projectId, updated);
        return;
      } catch (err) {
        if (!(err instanceof GoogleApiError && err.conflict)) {
          throw toStepError(err, `updating the IAM policy of ${projectId}`, ROLES);
        }
      }
      await this.clock.sleep(backoffMs(this.config.gcp.setup.retryBaseMs, round, 30_000));
    }
    throw new SetupStepError(
      'gcp_iam_conflict',
      `The IAM policy of ${projectId} kept changing while it was being updated`,
      { retryable: true },
    );
  }
}
