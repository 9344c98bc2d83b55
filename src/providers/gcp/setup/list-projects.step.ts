import { Injectable } from '@nestjs/common';
import {
  type SetupContext,
  SetupNeedsSelection,
  type SetupStep,
  type StepOutcome,
} from '../../../lifecycle/setup/setup-step';
import { GcpSetupClient } from './gcp-setup.client';
import { toStepError } from './google-api-error';

/** A project setup knows about, as kept with the run. */
export interface KnownProject {
  project_id: string;
  name: string;
  number: string;
  billing_enabled: boolean;
}

export interface ListProjectsState {
  projects: KnownProject[];
}

const ROLES = ['roles/browser'];

/**
 * list_projects: ACTIVE projects with their billing status, billing-enabled ones first. The
 * list is kept with the run, so a re-run (or the retry that answers needs_selection) does not
 * list again.
 */
@Injectable()
export class ListProjectsStep implements SetupStep {
  readonly name = 'list_projects';

  constructor(private readonly google: GcpSetupClient) {}

  async run(ctx: SetupContext): Promise<StepOutcome> {
    const token = await ctx.accessToken();
    let projects: KnownProject[];
    try {
      const active = await this.google.listActiveProjects(token);
      projects = [];
      for (const [i, p] of active.entries()) {
        projects.push({
          project_id: p.projectId,
          name: p.name,
          number: p.projectNumber,
          billing_enabled: await this.billing(token, p.projectId),
        });
        await ctx.progress((i + 1) / active.length);
      }
    } catch (err) {
      throw toStepError(err, 'listing projects', ROLES);
    }
    // Stable: billing-enabled first, then as Google listed them.
    projects.sort((a, b) => Number(b.billing_enabled) - Number(a.billing_enabled));
    await ctx.saveState({ projects } satisfies ListProjectsState);
    await ctx.saveEligibleProjects(
      projects.map((p) => ({
        project_id: p.project_id,
        name: p.name,
        billing_enabled: p.billing_enabled,
      })),
    );
    const billed = projects.filter((p) => p.billing_enabled).length;
    return {
      status: 'succeeded',
      detail: `${projects.length} active projects, ${billed} with billing`,
    };
  }

  /** A project whose billing the user may not read counts as without billing. */
  private async billing(token: string, projectId: string): Promise<boolean> {
    try {
      return await this.google.billingEnabled(token, projectId);
    } catch (err) {
      const failure = toStepError(err, `reading billing of ${projectId}`, ROLES);
      if (failure.code === 'gcp_permission_denied') return false;
      throw failure;
    }
  }
}

/**
 * The projects the later steps act on: the user's selection, or every eligible project when there
 * are at most `max`. More than that and no selection: the run waits for one (needs_selection).
 */
export function selectedProjects(ctx: SetupContext, max: number): KnownProject[] {
  const all = ctx.stateOf<ListProjectsState>('list_projects')?.projects;
  if (!all) throw new Error('list_projects has not run');
  const selection = ctx.run.selection;
  if (selection) {
    return selection
      .map((id) => all.find((p) => p.project_id === id))
      .filter((p): p is KnownProject => p !== undefined);
  }
  if (all.length > max) throw new SetupNeedsSelection(all.length);
  return all;
}
