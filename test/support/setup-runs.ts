import { type BrokerHarness } from './broker';

export interface SetupView {
  status: string;
  progress: number;
  current_step: string | null;
  steps: { name: string; status: string; detail?: string; error_code?: string }[];
  result?: Record<string, unknown>;
  error_code?: string;
  eligible_projects?: { project_id: string; name: string; billing_enabled: boolean }[];
  selection?: string[];
  attempts: number;
}

const SETTLED = new Set(['succeeded', 'partial', 'failed', 'needs_selection']);

/** Polls GET /connections/:id/setup until `until` holds (default: the run settled). */
export async function waitForSetup(
  broker: BrokerHarness,
  token: string,
  id: string,
  until: (view: SetupView) => boolean = (v) => SETTLED.has(v.status),
  timeoutMs = 40_000,
): Promise<SetupView> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    const res = await broker.request(`/connections/${id}/setup`, { token });
    last = res.body;
    if (res.status === 200 && until(res.body as SetupView)) return res.body as SetupView;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `setup of ${id} did not get there in time: ${JSON.stringify(last)}\n${broker.logs().slice(-4000)}`,
  );
}

/** 25 made-up service names: two batchEnable calls per project (20 + 5). */
export const REQUIRED_APIS = Array.from({ length: 25 }, (_, i) => `api${i}.googleapis.com`);

/**
 * The GCP setup settings a test of setup runs with: the Cloud APIs emulator as the API root, the
 * 25 required APIs (two batches), and polls, retries and the propagation deadline short enough
 * that a run takes seconds.
 */
export function fastGcpSetupEnv(apiRootUrl: string): Record<string, string> {
  return {
    GCP_API_ROOT_URL: apiRootUrl,
    GCP_REQUIRED_APIS: REQUIRED_APIS.join(','),
    GCP_SETUP_POLL_MS: '50',
    GCP_SETUP_RETRY_BASE_MS: '50',
    GCP_SETUP_PROPAGATION_TIMEOUT_SECONDS: '3',
  };
}
