import { Module } from '@nestjs/common';
import { ConnectionStoreModule } from '../../connections/connection-store.module';
import { DRIVER_TOKENS } from '../provider';
import { AzureClient } from './azure-client';
import { AzureFailureClassifier } from './azure-failure-classifier';
import { AzureLoginService } from './azure-login.service';
import { AzureController } from './azure.controller';
import { AzureDriver } from './azure.driver';

/**
 * The Azure connector: its routes, its client (the SDK edge) and its driver. The driver is
 * provided under DRIVER_TOKENS.azure and exported, and ProvidersModule collects it.
 */
@Module({
  imports: [ConnectionStoreModule],
  controllers: [AzureController],
  providers: [
    AzureClient,
    AzureFailureClassifier,
    AzureLoginService,
    AzureDriver,
    { provide: DRIVER_TOKENS.azure, useExisting: AzureDriver },
  ],
  exports: [DRIVER_TOKENS.azure],
})
export class AzureModule {}
