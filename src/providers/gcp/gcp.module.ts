import { Module } from '@nestjs/common';
import { ConnectionStoreModule } from '../../lifecycle/connection-store.module';
import { OAuthModule } from '../oauth/oauth.module';
import { GcpDriverModule } from './gcp-driver.module';
import { GcpConnectService } from './gcp-connect.service';
import { GcpController } from './gcp.controller';
import { SetupRunsRepository } from '../../database/repositories/setup-runs.repository';
import { GcpOutputsController } from './gcp-outputs.controller';
import { GcpSetupModule } from './setup/gcp-setup.module';
import { ConnectionsModule } from '../../connections/connections.module';

/**
 * The Gcp connector's HTTP side: its routes and the connect flow. The driver and its
 * client live in the driver module, which the worker uses without these routes.
 */
@Module({
  imports: [GcpDriverModule, GcpSetupModule, ConnectionStoreModule, OAuthModule, ConnectionsModule],
  controllers: [GcpController, GcpOutputsController],
  providers: [GcpConnectService, SetupRunsRepository],
  exports: [GcpConnectService],
})
export class GcpModule {}
