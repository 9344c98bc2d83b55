import { type ConnectionEntity } from '../../../../../src/database/entities';
import { GcpSetupClient } from '../../../../../src/providers/gcp/setup/gcp-setup.client';
import {
  ServiceAccountsStep,
  type ServiceAccountsState,
} from '../../../../../src/providers/gcp/setup/service-accounts.step';
import { type SetupContext, SetupCancelled } from '../../../../../src/providers/setup-step';
import {
  type FakeGoogleApis,
  startFakeGoogleApis,
} from '../../../../fakes/google-apis/fake-google-apis';
import { testConfig } from '../../../../support/test-config';

const TOKEN = 'ya29.unit-service-accounts';

describe('service_accounts step', () => {
  let apis: FakeGoogleApis;
  let step: ServiceAccountsStep;

  beforeAll(async () => {
    apis = await startFakeGoogleApis();
    apis.acceptTokens(TOKEN);
    const config = testConfig({}, { GCP_API_ROOT_URL: apis.url });
    step = new ServiceAccountsStep(new GcpSetupClient(config), config);
  });
  afterAll(() => apis.close());

  function contextFor(project: string, connected: () => boolean) {
    let saved: ServiceAccountsState | undefined;
    const ctx: SetupContext = {
      connection: { id: 'c1', userId: `user-${project}` } as ConnectionEntity,
      run: { id: 'r1', inputs: null, result: null, attempts: 0 },
      accessToken: async () => TOKEN,
      state: <T extends object>() => saved as T | undefined,
      stateOf: <T extends object>() =>
        ({
          projects: [{ project_id: project, name: project, number: '1', billing_enabled: true }],
        }) as T,
      saveState: async (state) => {
        saved = structuredClone(state) as ServiceAccountsState;
      },
      progress: async () => undefined,
      mergeMetadata: async () => undefined,
      assertConnected: async () => {
        if (!connected()) throw new SetupCancelled();
      },
    };
    return { ctx, saved: () => saved };
  }

  it('creates the read-write and the read-only account in the root project', async () => {
    const { ctx, saved } = contextFor('sa-made', () => true);
    expect(await step.run(ctx)).toMatchObject({ status: 'succeeded' });
    expect(apis.serviceAccounts('sa-made')).toHaveLength(2);
    expect(Object.keys(saved()?.accounts ?? {})).toEqual(['rw', 'ro']);
  });

  it('deletes the account it just made when the connection was disconnected meanwhile', async () => {
    let connected = true;
    const { ctx } = contextFor('sa-cancelled', () => connected);
    const create = apis.callsOf('serviceAccounts.create').length;
    connected = false; // the DELETE lands while the first account is being created
    await expect(step.run(ctx)).rejects.toBeInstanceOf(SetupCancelled);
    expect(apis.callsOf('serviceAccounts.create').length).toBe(create + 1);
    expect(apis.callsOf('serviceAccounts.delete', '/sa-cancelled/').map((c) => c.status)).toEqual([
      200,
    ]);
    expect(apis.serviceAccounts('sa-cancelled')).toEqual([]);
  });
});
