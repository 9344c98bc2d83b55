import { Injectable, Module } from '@nestjs/common';
import { SetupClock } from '../../../common/clock';
import { SETUP_PLAN_TOKENS } from '../../../lifecycle/setup/setup-jobs';
import { type SetupPlan, type SetupStep } from '../../../lifecycle/setup/setup-step';
import { TailscaleSetupClient } from './tailscale-setup.client';
import { AclTagOwnerStep, AuthKeyStep, SshKeyStep } from './tailscale-setup.steps';

/** The `tailscale.setup` job: ACL tag owner, auth key, SSH key pair. */
@Injectable()
export class TailscaleSetupPlan implements SetupPlan {
  readonly steps: readonly SetupStep[];

  constructor(acl: AclTagOwnerStep, authKey: AuthKeyStep, sshKey: SshKeyStep) {
    this.steps = [acl, authKey, sshKey];
  }
}

/** Tailscale post-connect setup, run by the worker's setup processor. */
@Module({
  providers: [
    SetupClock,
    TailscaleSetupClient,
    AclTagOwnerStep,
    AuthKeyStep,
    SshKeyStep,
    TailscaleSetupPlan,
    { provide: SETUP_PLAN_TOKENS['tailscale.setup'], useExisting: TailscaleSetupPlan },
  ],
  exports: [SETUP_PLAN_TOKENS['tailscale.setup']],
})
export class TailscaleSetupModule {}
