import { Module } from '@nestjs/common';
import { ConnectionStoreModule } from '../../connections/connection-store.module';
import { SetupQueueModule } from '../../jobs/setup-queue.module';
import { OAuthModule } from '../oauth/oauth.module';
import { DRIVER_TOKENS } from '../provider';
import { GcpConnectService } from './gcp-connect.service';
import { GcpOAuthClient } from './gcp-oauth.client';
import { GcpController } from './gcp.controller';
import { GcpDriver } from './gcp.driver';

/**
 * The Gcp connector: its routes, its client (the SDK edge) and its driver. The driver is
 * provided under DRIVER_TOKENS.gcp and exported, and ProvidersModule collects it.
 */
@Module({
  imports: [ConnectionStoreModule, OAuthModule, SetupQueueModule],
  controllers: [GcpController],
  providers: [
    GcpOAuthClient,
    GcpConnectService,
    GcpDriver,
    { provide: DRIVER_TOKENS.gcp, useExisting: GcpDriver },
  ],
  exports: [DRIVER_TOKENS.gcp],
})
export class GcpModule {}
