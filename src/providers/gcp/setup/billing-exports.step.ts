import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../config/config';
import { type SetupContext, type SetupStep, type StepOutcome } from '../../setup-step';
import { GcpSetupClient } from './gcp-setup.client';
import { GoogleApiError, toStepError } from './google-api-error';
import { selectedProjects } from './list-projects.step';

const ROLES = ['roles/bigquery.metadataViewer'];

/** A table Cloud Billing exports into, as the run keeps it. */
export interface BillingExport {
  project_id: string;
  dataset_id: string;
  table_id: string;
  /** The dataset's BigQuery location (`US`, `EU`, `europe-west1`…): where queries must run. */
  location: string;
  /** `standard` (gcp_billing_export_v1_*), `detailed` (…_resource_v1_*), or another export. */
  kind: 'standard' | 'detailed' | 'other';
}

export interface BillingExportsState {
  exports: BillingExport[];
  /** Projects already looked through, so a re-run goes on where it stopped. */
  done: string[];
  /** Projects whose BigQuery refused the listing (API off, or no permission), with why. */
  unreadable: { project_id: string; reason: string }[];
}

/** How the console names the tables of a billing export to BigQuery. */
export function billingExportKind(tableId: string): BillingExport['kind'] | null {
  if (!tableId.startsWith('gcp_billing_export_')) return null;
  if (tableId.startsWith('gcp_billing_export_resource_v1_')) return 'detailed';
  if (tableId.startsWith('gcp_billing_export_v1_')) return 'standard';
  return 'other';
}

export const NO_EXPORT_HINT =
  'no billing export found; to switch one on, open the console at Billing → Billing export → ' +
  'BigQuery export, and export to a dataset in one of the selected projects';

/**
 * billing_exports: finds where Cloud Billing exports to BigQuery (SPEC §14), so a caller knows
 * which tables to query for costs. For each selected project, lists its datasets and their
 * tables and keeps the `gcp_billing_export_*` ones with the dataset's location. The export itself
 * is switched on in the console; none found is a success that says how. A project whose BigQuery
 * refuses (403: the API is off there, or the user may not list datasets) is noted, not fatal.
 */
@Injectable()
export class BillingExportsStep implements SetupStep {
  readonly name = 'billing_exports';

  constructor(
    private readonly google: GcpSetupClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async run(ctx: SetupContext): Promise<StepOutcome> {
    const projects = selectedProjects(ctx, this.config.gcp.setupMaxProjects);
    const state: BillingExportsState = ctx.state<BillingExportsState>() ?? {
      exports: [],
      done: [],
      unreadable: [],
    };
    for (const [i, project] of projects.entries()) {
      const id = project.project_id;
      if (state.done.includes(id)) continue;
      try {
        state.exports.push(...(await this.exportsIn(await ctx.accessToken(), id)));
      } catch (err) {
        if (!(err instanceof GoogleApiError && err.status === 403)) {
          throw toStepError(err, `listing the BigQuery datasets of ${id}`, ROLES);
        }
        state.unreadable.push({
          project_id: id,
          reason: `BigQuery refused (${err.permission ?? 'API disabled or permission denied'})`,
        });
      }
      state.done.push(id);
      await ctx.saveState(state);
      await ctx.progress((i + 1) / projects.length);
    }
    return { status: 'succeeded', detail: describe(state) };
  }

  private async exportsIn(token: string, projectId: string): Promise<BillingExport[]> {
    const out: BillingExport[] = [];
    for (const dataset of await this.google.listDatasets(token, projectId)) {
      let tables: string[];
      try {
        tables = await this.google.listTables(token, projectId, dataset.datasetId);
      } catch (err) {
        // Deleted between the two listings: nothing to find there.
        if (err instanceof GoogleApiError && err.status === 404) continue;
        throw err;
      }
      for (const table of tables) {
        const kind = billingExportKind(table);
        if (kind === null) continue;
        out.push({
          project_id: projectId,
          dataset_id: dataset.datasetId,
          table_id: table,
          location: dataset.location,
          kind,
        });
      }
    }
    return out;
  }
}

function describe(state: BillingExportsState): string {
  const refused = state.unreadable.length
    ? `; BigQuery not readable in ${state.unreadable.map((u) => u.project_id).join(', ')} (enable bigquery.googleapis.com there, or grant ${ROLES.join(', ')})`
    : '';
  if (state.exports.length === 0) return `${NO_EXPORT_HINT}${refused}`;
  const where = state.exports.map((e) => `${e.project_id}.${e.dataset_id}.${e.table_id}`);
  return `${state.exports.length} billing export table(s): ${where.join(', ')}${refused}`;
}
