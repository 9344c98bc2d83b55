import { Injectable } from '@nestjs/common';
import { type SetupDefinition } from '../../setup-definition';
import { type SetupStep } from '../../setup-step';
import { AclTagOwnerStep, AuthKeyStep, SshKeyStep } from './tailscale-setup.steps';

/** The Tailscale setup steps, in order (SPEC §5). */
export const TAILSCALE_SETUP_STEPS = ['acl_tag_owner', 'auth_key', 'ssh_key'] as const;
export type TailscaleSetupStepName = (typeof TAILSCALE_SETUP_STEPS)[number];

/** Tailscale's setup: ACL tag owner, auth key, SSH key pair. It takes no input. */
@Injectable()
export class TailscaleSetup implements SetupDefinition {
  readonly stepNames = TAILSCALE_SETUP_STEPS;
  readonly steps: readonly SetupStep[];

  constructor(acl: AclTagOwnerStep, authKey: AuthKeyStep, sshKey: SshKeyStep) {
    this.steps = [acl, authKey, sshKey];
  }
}
