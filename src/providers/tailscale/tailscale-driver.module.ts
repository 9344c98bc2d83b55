import { Module } from '@nestjs/common';
import { DRIVER_TOKENS } from '../provider';
import { TailscaleSetup } from './setup/tailscale-setup.definition';
import { AclTagOwnerStep, AuthKeyStep, SshKeyStep } from './setup/tailscale-setup.steps';
import { TailscaleClient } from './tailscale-client';
import { TailscaleDriver } from './tailscale.driver';

/**
 * The Tailscale driver, its setup and the one API client they share: what the worker needs
 * (refresh, revoke, setup), without the connector's routes. The HTTP side (TailscaleModule)
 * builds on it.
 */
@Module({
  providers: [
    TailscaleClient,
    AclTagOwnerStep,
    AuthKeyStep,
    SshKeyStep,
    TailscaleSetup,
    TailscaleDriver,
    { provide: DRIVER_TOKENS.tailscale, useExisting: TailscaleDriver },
  ],
  exports: [DRIVER_TOKENS.tailscale, TailscaleClient, TailscaleDriver],
})
export class TailscaleDriverModule {}
