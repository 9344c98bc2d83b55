import { Injectable } from '@nestjs/common';
import { Clock } from '../../common/clock';
import { type UpstreamCleanup, providerFailureReason } from '../provider';
import { GcpSetupClient } from './setup/gcp-setup.client';
import { GoogleApiError } from './setup/google-api-error';
import { type IamBindingsState } from './setup/iam-bindings.step';
import { IamPolicyConflict, IamPolicyEditor, withoutMembers } from './setup/iam-policy-editor';
import { type ServiceAccountsState } from './setup/service-accounts.step';

/** How long a disconnect spends undoing setup before it reports the rest as left. */
export const CLEANUP_BUDGET_MS = 20_000;

/** What GCP setup made upstream, read from its run's result (each step's saved state). */
export interface GcpSetupInventory {
  rootProjectId: string;
  /** The service accounts setup created in the root project. */
  emails: string[];
  /** The projects whose IAM policy setup bound them in (the root project included). */
  boundProjects: string[];
}

export function gcpSetupInventory(
  result: Record<string, unknown> | null,
): GcpSetupInventory | null {
  const steps = result?.steps as Record<string, unknown> | undefined;
  const accounts = steps?.service_accounts as ServiceAccountsState | undefined;
  if (!accounts?.root_project_id) return null;
  const emails = [accounts.accounts.rw?.email, accounts.accounts.ro?.email].filter(
    (e): e is string => typeof e === 'string' && e.length > 0,
  );
  if (emails.length === 0) return null;
  const done = (steps?.iam_bindings as IamBindingsState | undefined)?.done ?? [];
  // The root project too: a binding written just before a crash is not in `done` yet, and
  // reading one more policy to find nothing costs little.
  const boundProjects = [...new Set([...done, accounts.root_project_id])];
  return { rootProjectId: accounts.root_project_id, emails, boundProjects };
}

/**
 * Undoes GCP setup on disconnect (SPEC §14): the user-managed keys of its service accounts, their
 * bindings in every project setup bound them in, then the accounts themselves. Each delete is
 * tried on its own — a refused or failed one is reported and the rest goes on — because the user
 * asked the broker to forget the account, and whatever the grant still allows should go.
 */
@Injectable()
export class GcpSetupCleanup {
  constructor(
    private readonly google: GcpSetupClient,
    private readonly policies: IamPolicyEditor,
    private readonly clock: Clock,
  ) {}

  async undo(token: string, made: GcpSetupInventory, report: UpstreamCleanup): Promise<void> {
    const root = made.rootProjectId;
    // The DELETE waits for this under the connection's lock: past the budget, what is not yet
    // tried is reported as left rather than held up by a slow Google (each call has its own
    // timeout, but there may be many projects).
    const deadline = this.clock.now() + CLEANUP_BUDGET_MS;
    const attempt = (resource: string, fn: () => Promise<unknown>) =>
      this.clock.now() > deadline
        ? Promise.resolve(void report.left.push({ resource, reason: 'timed_out' }))
        : this.attempt(report, resource, fn);
    for (const email of made.emails) {
      const account = accountName(root, email);
      let keys: string[];
      try {
        keys = await this.google.listUserManagedKeys(token, root, email);
      } catch (err) {
        if (err instanceof GoogleApiError && err.status === 404) continue; // the account is gone
        report.left.push({ resource: `${account}/keys`, reason: cleanupReason(err) });
        continue;
      }
      for (const key of keys) {
        await attempt(key, () => this.google.deleteServiceAccountKey(token, key));
      }
    }
    const members = made.emails.map((e) => `serviceAccount:${e}`);
    for (const project of made.boundProjects) {
      await attempt(`projects/${project}/iamPolicy`, () =>
        this.policies.update(
          () => Promise.resolve(token),
          project,
          (policy) => withoutMembers(policy, members),
        ),
      );
    }
    for (const email of made.emails) {
      await attempt(accountName(root, email), () =>
        this.google.deleteServiceAccount(token, root, email),
      );
    }
  }

  /** Runs one delete; `false` from it means there was nothing to remove. */
  private async attempt(
    report: UpstreamCleanup,
    resource: string,
    fn: () => Promise<unknown>,
  ): Promise<void> {
    try {
      if ((await fn()) !== false) report.removed.push(resource);
    } catch (err) {
      report.left.push({ resource, reason: cleanupReason(err) });
    }
  }
}

function accountName(projectId: string, email: string): string {
  return `projects/${projectId}/serviceAccounts/${email}`;
}

/**
 * The short word a report gives for a delete Google refused or did not answer (`timed_out`: not
 * tried, the cleanup's budget was spent).
 */
export function cleanupReason(err: unknown): string {
  if (err instanceof IamPolicyConflict) return 'conflict';
  if (!(err instanceof GoogleApiError)) return providerFailureReason(err);
  const status = err.status;
  if (status === 403) return 'forbidden';
  if (status === 401) return 'unauthorized';
  if (status === undefined || status === 429 || status >= 500) return 'unavailable';
  return 'rejected';
}
