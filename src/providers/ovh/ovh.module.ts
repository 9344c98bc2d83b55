import { Module } from '@nestjs/common';
import { ConnectionStoreModule } from '../../lifecycle/connection-store.module';
import { OAuthModule } from '../oauth/oauth.module';
import { OvhDriverModule } from './ovh-driver.module';
import { OvhConnectService } from './ovh-connect.service';
import { OvhController } from './ovh.controller';

/**
 * The OVHcloud connector's HTTP side: its routes and the connect flow. The driver and its
 * client live in the driver module, which the worker uses without these routes.
 */
@Module({
  imports: [OvhDriverModule, ConnectionStoreModule, OAuthModule],
  controllers: [OvhController],
  providers: [OvhConnectService],
  exports: [OvhConnectService],
})
export class OvhModule {}
