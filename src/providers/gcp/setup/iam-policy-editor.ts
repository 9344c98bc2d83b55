import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../config/config';
import { backoffMs } from '../../../common/backoff';
import { Clock } from '../../../common/clock';
import { GcpSetupClient, type IamPolicy } from './gcp-setup.client';
import { GoogleApiError } from './google-api-error';

/** Read-modify-write rounds per project before giving up (a setup job retries later). */
export const MAX_POLICY_ROUNDS = 6;

/** The policy kept changing under every round: someone else keeps writing it. */
export class IamPolicyConflict extends Error {
  constructor(readonly projectId: string) {
    super(`The IAM policy of ${projectId} kept changing while it was being updated`);
    this.name = 'IamPolicyConflict';
  }
}

/**
 * Changes a project's IAM policy the only safe way: getIamPolicy (v3) → edit → setIamPolicy with
 * the etag read; a concurrent change (409/ABORTED) means read again, with backoff. Shared by the
 * iam_bindings step (adds the accounts' roles) and the disconnect (removes them).
 */
@Injectable()
export class IamPolicyEditor {
  constructor(
    private readonly google: GcpSetupClient,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Applies `edit` (null: nothing to change) and returns whether a policy was written. Throws
   * the `GoogleApiError` of a failed call, or {@link IamPolicyConflict} after MAX_POLICY_ROUNDS.
   * `token` is asked each round, so a long backoff never uses an expired one.
   */
  async update(
    token: () => Promise<string>,
    projectId: string,
    edit: (policy: IamPolicy) => IamPolicy | null,
  ): Promise<boolean> {
    for (let round = 0; round < MAX_POLICY_ROUNDS; round++) {
      try {
        const access = await token();
        const updated = edit(await this.google.getIamPolicy(access, projectId));
        if (updated === null) return false;
        await this.google.setIamPolicy(access, projectId, updated);
        return true;
      } catch (err) {
        if (!(err instanceof GoogleApiError && err.conflict)) throw err;
      }
      await this.clock.sleep(backoffMs(this.config.gcp.setup.retryBaseMs, round, 30_000));
    }
    throw new IamPolicyConflict(projectId);
  }
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
 * Removes `members` from every binding of a policy, dropping a binding left with no member;
 * null when none of them was there. Every role, not only those setup granted: the accounts are
 * about to be deleted, and a role someone added to them by hand would otherwise linger as a
 * `deleted:serviceAccount:` member. Also `deleted:` forms of the members, for the same reason.
 */
export function withoutMembers(policy: IamPolicy, members: string[]): IamPolicy | null {
  const gone = new Set(members.flatMap((m) => [m, `deleted:${m}`]));
  let changed = false;
  const bindings = (policy.bindings ?? []).flatMap((b) => {
    const kept = (b.members ?? []).filter((m) => !gone.has(m.replace(/\?uid=\d+$/, '')));
    if (kept.length === (b.members ?? []).length) return [b];
    changed = true;
    return kept.length > 0 ? [{ ...b, members: kept }] : [];
  });
  return changed ? { ...policy, bindings, version: 3 } : null;
}
