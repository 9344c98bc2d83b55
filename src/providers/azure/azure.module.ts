import { Module } from '@nestjs/common';
import { ConnectionStoreModule } from '../../lifecycle/connection-store.module';
import { AzureDriverModule } from './azure-driver.module';
import { AzureLoginService } from './azure-login.service';
import { AzureController } from './azure.controller';

/**
 * The Azure connector's HTTP side: its routes and the connect flow. The driver and its
 * client live in the driver module, which the worker uses without these routes.
 */
@Module({
  imports: [AzureDriverModule, ConnectionStoreModule],
  controllers: [AzureController],
  providers: [AzureLoginService],
  exports: [AzureLoginService],
})
export class AzureModule {}
