import { Module } from '@nestjs/common';
import { ConnectionStoreModule } from '../connections/connection-store.module';
import { PROVIDERS } from '../database/enums';
import { AzureModule } from './azure/azure.module';
import { GcpModule } from './gcp/gcp.module';
import { OAuthModule } from './oauth/oauth.module';
import { OvhModule } from './ovh/ovh.module';
import { CREDENTIAL_PROVIDERS, type CredentialProvider, DRIVER_TOKENS } from './provider';
import { ProviderRegistry } from './provider-registry';
import { TailscaleModule } from './tailscale/tailscale.module';

/** The connectors, and the registry that hands their drivers to provider-agnostic code. */
@Module({
  imports: [ConnectionStoreModule, OAuthModule, GcpModule, AzureModule, TailscaleModule, OvhModule],
  providers: [
    {
      provide: CREDENTIAL_PROVIDERS,
      inject: PROVIDERS.map((p) => ({ token: DRIVER_TOKENS[p], optional: true })),
      useFactory: (...drivers: (CredentialProvider | undefined)[]) =>
        drivers.filter((d): d is CredentialProvider => d !== undefined),
    },
    ProviderRegistry,
  ],
  exports: [ProviderRegistry],
})
export class ProvidersModule {}
