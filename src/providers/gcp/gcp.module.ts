import { Module } from '@nestjs/common';
import { ConnectionStoreModule } from '../../lifecycle/connection-store.module';
import { OAuthModule } from '../oauth/oauth.module';
import { GcpDriverModule } from './gcp-driver.module';
import { GcpConnectService } from './gcp-connect.service';
import { GcpController } from './gcp.controller';

/**
 * The Gcp connector's HTTP side: its routes and the connect flow. The driver and its
 * client live in the driver module, which the worker uses without these routes.
 */
@Module({
  imports: [GcpDriverModule, ConnectionStoreModule, OAuthModule],
  controllers: [GcpController],
  providers: [GcpConnectService],
  exports: [GcpConnectService],
})
export class GcpModule {}
