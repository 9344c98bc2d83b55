import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../config/config';
import {
  type SetupContext,
  SetupCancelled,
  type SetupStep,
  type StepOutcome,
} from '../../setup-step';
import { GcpSetupClient } from './gcp-setup.client';
import { toStepError } from './google-api-error';
import { selectedProjects } from './list-projects.step';

const ROLES = ['roles/iam.serviceAccountAdmin'];

export type AccessLevel = 'rw' | 'ro';

export interface ServiceAccountsState {
  root_project_id: string;
  accounts: Partial<Record<AccessLevel, { email: string }>>;
}

/** The account id for a user and access level: `cbk-rw-<12 hex of sha256(user id)>` (6–30 chars). */
export function serviceAccountId(userId: string, level: AccessLevel): string {
  return `cbk-${level}-${createHash('sha256').update(userId, 'utf8').digest('hex').slice(0, 12)}`;
}

/**
 * service_accounts: a read-write and a read-only account in the root project (GCP_ROOT_PROJECT
 * when the user selected it, else the first selected project). 409 means it exists: success.
 */
@Injectable()
export class ServiceAccountsStep implements SetupStep {
  readonly name = 'service_accounts';

  constructor(
    private readonly google: GcpSetupClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async run(ctx: SetupContext): Promise<StepOutcome> {
    const projects = selectedProjects(ctx, this.config.gcp.setupMaxProjects);
    const preferred = projects.find((p) => p.project_id === this.config.gcp.rootProject);
    const root = (preferred ?? projects[0])?.project_id;
    if (root === undefined) {
      return { status: 'skipped', detail: 'no project to create service accounts in' };
    }
    const saved = ctx.state<ServiceAccountsState>();
    const state: ServiceAccountsState =
      saved?.root_project_id === root ? saved : { root_project_id: root, accounts: {} };
    for (const level of ['rw', 'ro'] as const) {
      if (state.accounts[level]) continue;
      const accountId = serviceAccountId(ctx.connection.userId, level);
      const token = await ctx.accessToken();
      let made: { email: string; created: boolean };
      try {
        made = await this.google.createServiceAccount(
          token,
          root,
          accountId,
          level === 'rw' ? 'Credential broker (read-write)' : 'Credential broker (read-only)',
        );
      } catch (err) {
        throw toStepError(err, `creating a service account in ${root}`, ROLES);
      }
      state.accounts[level] = { email: made.email };
      await ctx.saveState(state);
      try {
        await ctx.assertConnected();
      } catch (err) {
        // Disconnected while the account was being made: the disconnect read setup's inventory
        // before it was saved, so the account just created must not outlive the connection.
        if (err instanceof SetupCancelled && made.created) {
          await this.google.deleteServiceAccount(token, root, made.email).catch(() => undefined);
        }
        throw err;
      }
    }
    await ctx.mergeMetadata({ root_project_id: root });
    return { status: 'succeeded', detail: `service accounts ready in ${root}` };
  }
}
