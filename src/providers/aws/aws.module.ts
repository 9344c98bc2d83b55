import { Module } from '@nestjs/common';
import { ExternalIdsRepository } from '../../database/repositories/external-ids.repository';
import { ConnectionStoreModule } from '../../lifecycle/connection-store.module';
import { AwsConnectService } from './aws-connect.service';
import { AwsDriverModule } from './aws-driver.module';
import { AwsExternalIds } from './aws-external-ids';
import { AwsController } from './aws.controller';

/**
 * The AWS connector's HTTP side: the external id, the connect flow and their routes. The driver
 * and its STS client live in the driver module, which the worker uses without these routes.
 */
@Module({
  imports: [AwsDriverModule, ConnectionStoreModule],
  controllers: [AwsController],
  providers: [ExternalIdsRepository, AwsExternalIds, AwsConnectService],
  exports: [AwsConnectService],
})
export class AwsModule {}
