import { Inject, Injectable } from '@nestjs/common';
import { type cloudresourcemanager_v1 } from '@googleapis/cloudresourcemanager';
import { type OAuth2Client } from 'google-auth-library';
import { APP_CONFIG, type AppConfig } from '../../../config/config';
import { toGoogleApiError } from './google-api-error';

export interface GcpProject {
  projectId: string;
  name: string;
  projectNumber: string;
}

export interface GcpOperation {
  name: string;
  done: boolean;
  /** Google's status code and a short message when the operation failed. */
  error?: { code: number; message: string };
}

export type IamPolicy = cloudresourcemanager_v1.Schema$Policy;

/*
 * The @googleapis clients are loaded on the first setup call, not with this module: together
 * they are tens of MB of heap that a process which never runs a GCP setup (the api, a worker
 * between setups, any deployment without GCP) would otherwise carry.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const sdk = {
  crm: () =>
    require('@googleapis/cloudresourcemanager') as typeof import('@googleapis/cloudresourcemanager'),
  serviceusage: () =>
    require('@googleapis/serviceusage') as typeof import('@googleapis/serviceusage'),
  iam: () => require('@googleapis/iam') as typeof import('@googleapis/iam'),
  iamcredentials: () =>
    require('@googleapis/iamcredentials') as typeof import('@googleapis/iamcredentials'),
  auth: () => require('google-auth-library') as typeof import('google-auth-library'),
};
/* eslint-enable @typescript-eslint/no-require-imports */

export const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';
const BILLING_ROOT = 'https://cloudbilling.googleapis.com';
const BIGQUERY_ROOT = 'https://bigquery.googleapis.com';

/** A BigQuery dataset as datasets.list shows it. */
export interface BigQueryDataset {
  datasetId: string;
  location: string;
}

/**
 * The Google Cloud APIs setup calls (the SDK edge, STYLE practice 2). Each call takes the user's
 * access token and reaches the API at its configured root (`GCP_API_ROOT_URL` / `GCP_<API>_ROOT_URL`),
 * so tests and air-gapped installs point it at an emulator. Failures come out as `GoogleApiError`.
 */
@Injectable()
export class GcpSetupClient {
  private readonly roots: AppConfig['gcp']['apiRootUrls'];

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.roots = config.gcp.apiRootUrls;
  }

  /** ACTIVE projects the user can see (Resource Manager v1 projects.list, every page). */
  async listActiveProjects(token: string): Promise<GcpProject[]> {
    const api = sdk.crm().cloudresourcemanager({
      version: 'v1',
      auth: auth(token),
      rootUrl: this.roots.cloudresourcemanager,
    });
    const out: GcpProject[] = [];
    let pageToken: string | undefined;
    do {
      const res = await call('projects.list', () =>
        api.projects.list({ filter: 'lifecycleState:ACTIVE', pageToken, pageSize: 500 }),
      );
      for (const p of res.data.projects ?? []) {
        if (p.lifecycleState !== 'ACTIVE' || !p.projectId) continue;
        out.push({
          projectId: p.projectId,
          name: p.name ?? p.projectId,
          projectNumber: p.projectNumber ?? '',
        });
      }
      pageToken = res.data.nextPageToken ?? undefined;
    } while (pageToken);
    return out;
  }

  /**
   * Cloud Billing getBillingInfo. There is no per-API package for Cloud Billing on the registry,
   * so this one goes through the auth client's request().
   */
  async billingEnabled(token: string, projectId: string): Promise<boolean> {
    const root = this.roots.cloudbilling ?? BILLING_ROOT;
    const res = await call('billingInfo.get', () =>
      auth(token).request<{ billingEnabled?: boolean }>({
        url: `${root}/v1/projects/${encodeURIComponent(projectId)}/billingInfo`,
      }),
    );
    return res.data.billingEnabled === true;
  }

  async batchEnable(
    token: string,
    projectNumber: string,
    serviceIds: string[],
  ): Promise<GcpOperation> {
    const api = sdk.serviceusage().serviceusage({
      version: 'v1',
      auth: auth(token),
      rootUrl: this.roots.serviceusage,
    });
    const res = await call('services.batchEnable', () =>
      api.services.batchEnable({
        parent: `projects/${projectNumber}`,
        requestBody: { serviceIds },
      }),
    );
    return operation(res.data);
  }

  async getOperation(token: string, name: string): Promise<GcpOperation> {
    const api = sdk.serviceusage().serviceusage({
      version: 'v1',
      auth: auth(token),
      rootUrl: this.roots.serviceusage,
    });
    const res = await call('operations.get', () => api.operations.get({ name }));
    return operation(res.data);
  }

  /** Creates a service account; `exists` when Google answers 409. Returns its email either way. */
  async createServiceAccount(
    token: string,
    projectId: string,
    accountId: string,
    displayName: string,
  ): Promise<{ email: string; created: boolean }> {
    const api = sdk.iam().iam({ version: 'v1', auth: auth(token), rootUrl: this.roots.iam });
    const email = `${accountId}@${projectId}.iam.gserviceaccount.com`;
    try {
      const res = await api.projects.serviceAccounts.create({
        name: `projects/${projectId}`,
        requestBody: { accountId, serviceAccount: { displayName } },
      });
      return { email: res.data.email ?? email, created: true };
    } catch (err) {
      const failure = toGoogleApiError('serviceAccounts.create', err);
      if (failure.status === 409) return { email, created: false };
      throw failure;
    }
  }

  /** Deletes a service account; false when Google no longer knows it (404: gone already). */
  async deleteServiceAccount(token: string, projectId: string, email: string): Promise<boolean> {
    const api = sdk.iam().iam({ version: 'v1', auth: auth(token), rootUrl: this.roots.iam });
    try {
      await api.projects.serviceAccounts.delete({
        name: `projects/${projectId}/serviceAccounts/${email}`,
      });
      return true;
    } catch (err) {
      const failure = toGoogleApiError('serviceAccounts.delete', err);
      if (failure.status === 404) return false;
      throw failure;
    }
  }

  /** The resource names of an account's user-managed keys (Google's own keys are not listed). */
  async listUserManagedKeys(token: string, projectId: string, email: string): Promise<string[]> {
    const api = sdk.iam().iam({ version: 'v1', auth: auth(token), rootUrl: this.roots.iam });
    const res = await call('keys.list', () =>
      api.projects.serviceAccounts.keys.list({
        name: `projects/${projectId}/serviceAccounts/${email}`,
        keyTypes: ['USER_MANAGED'],
      }),
    );
    return (res.data.keys ?? []).flatMap((k) => (k.name ? [k.name] : []));
  }

  /** Deletes a service account key by its resource name; 404 (gone already) is success. */
  async deleteServiceAccountKey(token: string, name: string): Promise<void> {
    const api = sdk.iam().iam({ version: 'v1', auth: auth(token), rootUrl: this.roots.iam });
    try {
      await api.projects.serviceAccounts.keys.delete({ name });
    } catch (err) {
      const failure = toGoogleApiError('keys.delete', err);
      if (failure.status !== 404) throw failure;
    }
  }

  async getIamPolicy(token: string, projectId: string): Promise<IamPolicy> {
    const api = sdk.crm().cloudresourcemanager({
      version: 'v1',
      auth: auth(token),
      rootUrl: this.roots.cloudresourcemanager,
    });
    const res = await call('projects.getIamPolicy', () =>
      api.projects.getIamPolicy({
        resource: projectId,
        requestBody: { options: { requestedPolicyVersion: 3 } },
      }),
    );
    return res.data;
  }

  /** setIamPolicy with the policy's etag: Google answers 409 ABORTED when it changed meanwhile. */
  async setIamPolicy(token: string, projectId: string, policy: IamPolicy): Promise<void> {
    const api = sdk.crm().cloudresourcemanager({
      version: 'v1',
      auth: auth(token),
      rootUrl: this.roots.cloudresourcemanager,
    });
    await call('projects.setIamPolicy', () =>
      api.projects.setIamPolicy({
        resource: projectId,
        requestBody: { policy: { ...policy, version: 3 } },
      }),
    );
  }

  /**
   * BigQuery datasets.list, every page. There is no per-API package for BigQuery on the
   * registry (only the whole `googleapis` bundle), so this goes through the auth client's
   * request(), like Cloud Billing.
   */
  async listDatasets(token: string, projectId: string): Promise<BigQueryDataset[]> {
    const out: BigQueryDataset[] = [];
    const url = `${this.bigqueryRoot()}/bigquery/v2/projects/${encodeURIComponent(projectId)}/datasets`;
    for (let pageToken: string | undefined; ;) {
      const res = await call('datasets.list', () =>
        auth(token).request<{
          datasets?: { datasetReference?: { datasetId?: string }; location?: string }[];
          nextPageToken?: string;
        }>({ url, params: { maxResults: 1000, ...(pageToken ? { pageToken } : {}) } }),
      );
      for (const d of res.data.datasets ?? []) {
        const datasetId = d.datasetReference?.datasetId;
        if (datasetId) out.push({ datasetId, location: d.location ?? '' });
      }
      pageToken = res.data.nextPageToken || undefined;
      if (!pageToken) return out;
    }
  }

  /** BigQuery tables.list of one dataset, every page: the table ids. */
  async listTables(token: string, projectId: string, datasetId: string): Promise<string[]> {
    const out: string[] = [];
    const url = `${this.bigqueryRoot()}/bigquery/v2/projects/${encodeURIComponent(
      projectId,
    )}/datasets/${encodeURIComponent(datasetId)}/tables`;
    for (let pageToken: string | undefined; ;) {
      const res = await call('tables.list', () =>
        auth(token).request<{
          tables?: { tableReference?: { tableId?: string } }[];
          nextPageToken?: string;
        }>({ url, params: { maxResults: 1000, ...(pageToken ? { pageToken } : {}) } }),
      );
      for (const t of res.data.tables ?? []) {
        if (t.tableReference?.tableId) out.push(t.tableReference.tableId);
      }
      pageToken = res.data.nextPageToken || undefined;
      if (!pageToken) return out;
    }
  }

  private bigqueryRoot(): string {
    return this.roots.bigquery ?? BIGQUERY_ROOT;
  }

  /** Proves the account exists and can be impersonated; the minted token is dropped unread. */
  async canImpersonate(token: string, email: string): Promise<void> {
    await this.generateAccessToken(token, email, [CLOUD_PLATFORM], 300);
  }

  /** IAM Credentials generateAccessToken: a short-lived token of `email`, minted with `token`. */
  async generateAccessToken(
    token: string,
    email: string,
    scopes: string[],
    lifetimeSeconds: number,
  ): Promise<{ accessToken: string; expireTime: string }> {
    const api = sdk.iamcredentials().iamcredentials({
      version: 'v1',
      auth: auth(token),
      rootUrl: this.roots.iamcredentials,
    });
    const res = await call('generateAccessToken', () =>
      api.projects.serviceAccounts.generateAccessToken({
        name: `projects/-/serviceAccounts/${email}`,
        requestBody: { scope: scopes, lifetime: `${lifetimeSeconds}s` },
      }),
    );
    return { accessToken: res.data.accessToken ?? '', expireTime: res.data.expireTime ?? '' };
  }
}

/**
 * Every setup call is bounded and retried at most once (googleapis asks the transporter to
 * retry 3 times by default; this config is merged into that and caps it): a step's own loop and
 * the job's backoff are the retry policy.
 */
const GOOGLE_API_TIMEOUT_MS = 15_000;
const GOOGLE_API_RETRY = { retry: 1, noResponseRetries: 1, retryDelay: 200 };

function auth(token: string): OAuth2Client {
  const client = new (sdk.auth().OAuth2Client)({
    transporterOptions: {
      fetchImplementation: globalThis.fetch,
      timeout: GOOGLE_API_TIMEOUT_MS,
      retryConfig: GOOGLE_API_RETRY,
    },
  });
  client.setCredentials({ access_token: token });
  return client;
}

async function call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toGoogleApiError(operation, err);
  }
}

function operation(data: {
  name?: string | null;
  done?: boolean | null;
  error?: { code?: number | null; message?: string | null };
}): GcpOperation {
  return {
    name: data.name ?? '',
    done: data.done === true,
    ...(data.error
      ? { error: { code: data.error.code ?? 2, message: (data.error.message ?? '').slice(0, 200) } }
      : {}),
  };
}
