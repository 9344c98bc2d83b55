import { Module } from '@nestjs/common';
import { DRIVER_TOKENS } from '../provider';
import { AzureClient } from './azure-client';
import { AzureFailureClassifier } from './azure-failure-classifier';
import { AzureDriver } from './azure.driver';

/**
 * The Azure driver and the client it talks through: what the worker needs (refresh, revoke), without
 * the connector's routes. The HTTP side (AzureModule) builds on it.
 */
@Module({
  providers: [
    AzureClient,
    AzureFailureClassifier,
    AzureDriver,
    { provide: DRIVER_TOKENS.azure, useExisting: AzureDriver },
  ],
  exports: [DRIVER_TOKENS.azure, AzureClient, AzureFailureClassifier, AzureDriver],
})
export class AzureDriverModule {}
