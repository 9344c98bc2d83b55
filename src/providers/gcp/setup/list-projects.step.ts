import { Injectable } from '@nestjs/common';
import {
  type SetupContext,
  SetupNeedsSelection,
  type SetupStep,
  type StepOutcome,
} from '../../setup-step';
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
  const selection = selectionOf(ctx.run.inputs);
  if (selection) {
    return selection
      .map((id) => all.find((p) => p.project_id === id))
      .filter((p): p is KnownProject => p !== undefined);
  }
  if (all.length > max) throw new SetupNeedsSelection(all.length);
  return all;
}

/** The project selection a retry stored with the run (`{ project_ids }`), if any. */
export function selectionOf(inputs: Record<string, unknown> | null): string[] | undefined {
  const ids = inputs?.project_ids;
  return Array.isArray(ids) && ids.every((id) => typeof id === 'string') ? ids : undefined;
}

/** The projects a selection may name, as the run shows them: what list_projects found. */
export function eligibleProjects(
  result: Record<string, unknown> | null,
): { project_id: string; name: string; billing_enabled: boolean }[] | undefined {
  const states = result?.steps as Record<string, ListProjectsState | undefined> | undefined;
  return states?.list_projects?.projects.map((p) => ({
    project_id: p.project_id,
    name: p.name,
    billing_enabled: p.billing_enabled,
  }));
}
