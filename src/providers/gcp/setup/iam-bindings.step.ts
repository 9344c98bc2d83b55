import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../config/config';
import {
  type SetupContext,
  type SetupStep,
  SetupStepError,
  type StepOutcome,
} from '../../setup-step';
import { toStepError } from './google-api-error';
import { IamPolicyConflict, IamPolicyEditor, withBindings } from './iam-policy-editor';
import { selectedProjects } from './list-projects.step';
import { type ServiceAccountsState } from './service-accounts.step';

const ROLES = ['roles/resourcemanager.projectIamAdmin'];

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
 * iam_bindings: on each selected project, getIamPolicy (v3) → add the missing bindings →
 * setIamPolicy with the etag read (IamPolicyEditor), retried with backoff on a concurrent change.
 */
@Injectable()
export class IamBindingsStep implements SetupStep {
  readonly name = 'iam_bindings';

  constructor(
    private readonly policies: IamPolicyEditor,
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
    try {
      await this.policies.update(
        () => ctx.accessToken(),
        projectId,
        (policy) => withBindings(policy, wanted),
      );
    } catch (err) {
      if (err instanceof IamPolicyConflict) {
        throw new SetupStepError('gcp_iam_conflict', err.message, { retryable: true });
      }
      throw toStepError(err, `updating the IAM policy of ${projectId}`, ROLES);
    }
  }
}
