import { type ConnectionEntity } from '../../../../../src/database/entities';
import {
  BillingExportsStep,
  type BillingExportsState,
  NO_EXPORT_HINT,
  billingExportKind,
} from '../../../../../src/providers/gcp/setup/billing-exports.step';
import { GcpSetupClient } from '../../../../../src/providers/gcp/setup/gcp-setup.client';
import { type KnownProject } from '../../../../../src/providers/gcp/setup/list-projects.step';
import { type SetupContext, SetupStepError } from '../../../../../src/providers/setup-step';
import {
  type FakeGoogleApis,
  startFakeGoogleApis,
} from '../../../../fakes/google-apis/fake-google-apis';
import { testConfig } from '../../../../support/test-config';

const TOKEN = 'ya29.unit-billing-exports';

/** A SetupContext over in-memory step states, as the runner would give the step. */
function contextFor(projectIds: string[], saved?: BillingExportsState) {
  const projects: KnownProject[] = projectIds.map((id, i) => ({
    project_id: id,
    name: id,
    number: String(1000 + i),
    billing_enabled: true,
  }));
  const states: Record<string, object | undefined> = {
    list_projects: { projects },
    billing_exports: saved,
  };
  const ctx: SetupContext = {
    connection: { id: 'c1', userId: 'u1' } as ConnectionEntity,
    run: { id: 'r1', inputs: null, result: null, attempts: 0 },
    accessToken: async () => TOKEN,
    state: <T extends object>() => states.billing_exports as T | undefined,
    stateOf: <T extends object>(step: string) => states[step] as T | undefined,
    saveState: async (state) => {
      states.billing_exports = structuredClone(state);
    },
    progress: async () => undefined,
    mergeMetadata: async () => undefined,
    assertConnected: async () => undefined,
  };
  return { ctx, saved: () => states.billing_exports as BillingExportsState };
}

describe('billing_exports step', () => {
  let apis: FakeGoogleApis;
  let step: BillingExportsStep;

  beforeAll(async () => {
    apis = await startFakeGoogleApis();
    apis.acceptTokens(TOKEN);
    const config = testConfig({}, { GCP_API_ROOT_URL: apis.url });
    step = new BillingExportsStep(new GcpSetupClient(config), config);
  });
  afterAll(() => apis.close());

  it('tells the standard and detailed export tables from any other table', () => {
    expect(billingExportKind('gcp_billing_export_v1_01A2B3_C4D5E6_F7A8B9')).toBe('standard');
    expect(billingExportKind('gcp_billing_export_resource_v1_01A2B3_C4D5E6_F7A8B9')).toBe(
      'detailed',
    );
    expect(billingExportKind('gcp_billing_export_v2_x')).toBe('other');
    expect(billingExportKind('cloud_pricing_export')).toBeNull();
    expect(billingExportKind('my_gcp_billing_export_v1_x')).toBeNull();
  });

  it('finds the export tables of every project through every page, with their locations', async () => {
    apis.pageSize = 2;
    apis.setDatasets('be-one', [
      { datasetId: 'analytics', location: 'US', tables: ['events', 'users', 'sessions'] },
      {
        datasetId: 'billing',
        location: 'EU',
        tables: [
          'cloud_pricing_export',
          'gcp_billing_export_v1_01A2B3_C4D5E6_F7A8B9',
          'gcp_billing_export_resource_v1_01A2B3_C4D5E6_F7A8B9',
        ],
      },
      { datasetId: 'empty', tables: [] },
    ]);
    apis.setDatasets('be-two', [
      {
        datasetId: 'costs',
        location: 'europe-west1',
        tables: ['gcp_billing_export_v1_0AAAAA_BBBBBB_CCCCCC'],
      },
    ]);
    const { ctx, saved } = contextFor(['be-one', 'be-two']);
    const outcome = await step.run(ctx);
    expect(outcome.status).toBe('succeeded');
    expect(outcome.detail).toContain('3 billing export table(s)');
    expect(saved().exports).toEqual([
      {
        project_id: 'be-one',
        dataset_id: 'billing',
        table_id: 'gcp_billing_export_v1_01A2B3_C4D5E6_F7A8B9',
        location: 'EU',
        kind: 'standard',
      },
      {
        project_id: 'be-one',
        dataset_id: 'billing',
        table_id: 'gcp_billing_export_resource_v1_01A2B3_C4D5E6_F7A8B9',
        location: 'EU',
        kind: 'detailed',
      },
      {
        project_id: 'be-two',
        dataset_id: 'costs',
        table_id: 'gcp_billing_export_v1_0AAAAA_BBBBBB_CCCCCC',
        location: 'europe-west1',
        kind: 'standard',
      },
    ]);
    // Both lists were paged: three datasets at two a page, three tables at two a page.
    expect(apis.callsOf('datasets.list', '/be-one/').map((c) => c.query.pageToken)).toEqual([
      undefined,
      ['2'],
    ]);
    expect(apis.callsOf('tables.list', '/be-one/datasets/billing/')).toHaveLength(2);
    expect(apis.callsOf('datasets.list')[0].path).toBe('/bigquery/v2/projects/be-one/datasets');
  });

  it('succeeds with the console hint when no project holds an export', async () => {
    apis.setDatasets('none-one', [{ datasetId: 'analytics', tables: ['events'] }]);
    const { ctx, saved } = contextFor(['none-one', 'none-two']);
    const outcome = await step.run(ctx);
    expect(outcome).toEqual({ status: 'succeeded', detail: NO_EXPORT_HINT });
    expect(outcome.detail).toContain('Billing → Billing export → BigQuery export');
    expect(saved()).toEqual({ exports: [], done: ['none-one', 'none-two'], unreadable: [] });
  });

  it('notes a project whose BigQuery refuses and goes on with the others', async () => {
    apis.disableBigQuery('off-one');
    apis.setDatasets('off-two', [
      { datasetId: 'b', location: 'US', tables: ['gcp_billing_export_v1_X'] },
    ]);
    const { ctx, saved } = contextFor(['off-one', 'off-two']);
    const outcome = await step.run(ctx);
    expect(outcome.status).toBe('succeeded');
    expect(outcome.detail).toContain('BigQuery not readable in off-one');
    expect(outcome.detail).toContain('bigquery.googleapis.com');
    expect(saved().unreadable).toEqual([
      { project_id: 'off-one', reason: 'BigQuery refused (API disabled or permission denied)' },
    ]);
    expect(saved().exports.map((e) => e.project_id)).toEqual(['off-two']);
  });

  it('skips the projects an earlier attempt finished, and retries an outage', async () => {
    const before = apis.calls.length;
    const { ctx } = contextFor(['done-one'], { exports: [], done: ['done-one'], unreadable: [] });
    expect((await step.run(ctx)).status).toBe('succeeded');
    expect(apis.calls.length).toBe(before);

    const down = testConfig({}, { GCP_API_ROOT_URL: 'http://127.0.0.1:9', GCP_BIGQUERY_ROOT_URL: 'http://127.0.0.1:9' }); // prettier-ignore
    const failing = new BillingExportsStep(new GcpSetupClient(down), down);
    const err = await failing.run(contextFor(['down-one']).ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SetupStepError);
    expect(err).toMatchObject({ code: 'gcp_unavailable', retryable: true });
  });

  it('reaches BigQuery at GCP_BIGQUERY_ROOT_URL when it is set', () => {
    const config = testConfig(
      {},
      { GCP_API_ROOT_URL: 'http://127.0.0.1:1', GCP_BIGQUERY_ROOT_URL: apis.url },
    );
    expect(config.gcp.apiRootUrls.bigquery).toBe(apis.url);
    expect(config.gcp.apiRootUrls.iam).toBe('http://127.0.0.1:1');
  });
});
