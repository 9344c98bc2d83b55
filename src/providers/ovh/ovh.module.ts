import { Module } from '@nestjs/common';
import { ConnectionStoreModule } from '../../connections/connection-store.module';
import { OAuthModule } from '../oauth/oauth.module';
import { DRIVER_TOKENS } from '../provider';
import { OvhClient } from './ovh-client';
import { OvhConnectService } from './ovh-connect.service';
import { OvhController } from './ovh.controller';
import { OvhDriver } from './ovh.driver';

/**
 * The OVHcloud connector: its routes, its client (the OAuth2 and API edge) and its driver. The
 * driver is provided under DRIVER_TOKENS.ovh and exported, and ProvidersModule collects it.
 */
@Module({
  imports: [ConnectionStoreModule, OAuthModule],
  controllers: [OvhController],
  providers: [
    OvhClient,
    OvhConnectService,
    OvhDriver,
    { provide: DRIVER_TOKENS.ovh, useExisting: OvhDriver },
  ],
  exports: [DRIVER_TOKENS.ovh],
})
export class OvhModule {}
