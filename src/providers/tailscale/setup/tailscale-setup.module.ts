import { Module } from '@nestjs/common';
import { TailscaleSetupClient } from './tailscale-setup.client';
import { TailscaleSetup } from './tailscale-setup.definition';
import { AclTagOwnerStep, AuthKeyStep, SshKeyStep } from './tailscale-setup.steps';

/** Tailscale post-connect setup: its steps, collected by the driver (TailscaleDriver.setup). */
@Module({
  providers: [TailscaleSetupClient, AclTagOwnerStep, AuthKeyStep, SshKeyStep, TailscaleSetup],
  exports: [TailscaleSetup],
})
export class TailscaleSetupModule {}
