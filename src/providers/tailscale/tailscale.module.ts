import { Module } from '@nestjs/common';
import { ConnectionStoreModule } from '../../lifecycle/connection-store.module';
import { TailscaleDriverModule } from './tailscale-driver.module';
import { TailscaleConnectService } from './tailscale-connect.service';
import { TailscaleController } from './tailscale.controller';
import { TailscaleRefreshController } from './tailscale-refresh.controller';
import { TailscaleOutputsController } from './tailscale-outputs.controller';
import { ConnectionsModule } from '../../connections/connections.module';
import { LifecycleCoreModule } from '../../lifecycle/lifecycle-core.module';

/**
 * The Tailscale connector's HTTP side: its routes and the connect flow. The driver and its
 * client live in the driver module, which the worker uses without these routes.
 */
@Module({
  imports: [TailscaleDriverModule, ConnectionStoreModule, ConnectionsModule, LifecycleCoreModule],
  controllers: [TailscaleController, TailscaleRefreshController, TailscaleOutputsController],
  providers: [TailscaleConnectService],
  exports: [TailscaleConnectService],
})
export class TailscaleModule {}
