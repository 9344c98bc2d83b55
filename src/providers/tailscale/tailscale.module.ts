import { Module } from '@nestjs/common';
import { ConnectionStoreModule } from '../../connections/connection-store.module';
import { SetupQueueModule } from '../../jobs/setup-queue.module';
import { DRIVER_TOKENS } from '../provider';
import { TailscaleClient } from './tailscale-client';
import { TailscaleConnectService } from './tailscale-connect.service';
import { TailscaleController } from './tailscale.controller';
import { TailscaleDriver } from './tailscale.driver';

/**
 * The Tailscale connector: its routes, its client (the API edge) and its driver. The driver is
 * provided under DRIVER_TOKENS.tailscale and exported, and ProvidersModule collects it.
 * POST /tailscale/refresh-token is a lifecycle route and lives in src/lifecycle.
 */
@Module({
  imports: [ConnectionStoreModule, SetupQueueModule],
  controllers: [TailscaleController],
  providers: [
    TailscaleClient,
    TailscaleConnectService,
    TailscaleDriver,
    { provide: DRIVER_TOKENS.tailscale, useExisting: TailscaleDriver },
  ],
  exports: [DRIVER_TOKENS.tailscale],
})
export class TailscaleModule {}
