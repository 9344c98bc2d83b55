import { Module } from '@nestjs/common';
import { DRIVER_TOKENS } from '../provider';
import { TailscaleClient } from './tailscale-client';
import { TailscaleDriver } from './tailscale.driver';
import { TailscaleSetupModule } from './setup/tailscale-setup.module';

/**
 * The Tailscale driver and the client it talks through: what the worker needs (refresh, revoke), without
 * the connector's routes. The HTTP side (TailscaleModule) builds on it.
 */
@Module({
  imports: [TailscaleSetupModule],
  providers: [
    TailscaleClient,
    TailscaleDriver,
    { provide: DRIVER_TOKENS.tailscale, useExisting: TailscaleDriver },
  ],
  exports: [DRIVER_TOKENS.tailscale, TailscaleClient, TailscaleDriver],
})
export class TailscaleDriverModule {}
