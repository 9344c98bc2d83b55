import { Module } from '@nestjs/common';
import { DRIVER_TOKENS } from '../provider';
import { GcpOAuthClient } from './gcp-oauth.client';
import { GcpDriver } from './gcp.driver';
import { GcpSetupCleanup } from './gcp-setup-cleanup';
import { GcpSetupModule } from './setup/gcp-setup.module';

/**
 * The Gcp driver and the client it talks through: what the worker needs (refresh, revoke), without
 * the connector's routes. The HTTP side (GcpModule) builds on it.
 */
@Module({
  imports: [GcpSetupModule],
  providers: [
    GcpOAuthClient,
    GcpSetupCleanup,
    GcpDriver,
    { provide: DRIVER_TOKENS.gcp, useExisting: GcpDriver },
  ],
  exports: [DRIVER_TOKENS.gcp, GcpOAuthClient, GcpDriver],
})
export class GcpDriverModule {}
