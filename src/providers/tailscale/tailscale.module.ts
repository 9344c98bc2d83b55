import { Module } from '@nestjs/common';
import { ConnectionStoreModule } from '../../lifecycle/connection-store.module';
import { SetupQueueModule } from '../../jobs/setup-queue.module';
import { TailscaleDriverModule } from './tailscale-driver.module';
import { TailscaleConnectService } from './tailscale-connect.service';
import { TailscaleController } from './tailscale.controller';

/**
 * The Tailscale connector's HTTP side: its routes and the connect flow. The driver and its
 * client live in the driver module, which the worker uses without these routes.
 */
@Module({
  imports: [TailscaleDriverModule, ConnectionStoreModule, SetupQueueModule],
  controllers: [TailscaleController],
  providers: [TailscaleConnectService],
})
export class TailscaleModule {}
