import { Module } from '@nestjs/common';
import { PROVIDERS } from '../database/enums';
import { AzureDriverModule } from './azure/azure-driver.module';
import { GcpDriverModule } from './gcp/gcp-driver.module';
import { OvhDriverModule } from './ovh/ovh-driver.module';
import { CREDENTIAL_PROVIDERS, type CredentialProvider, DRIVER_TOKENS } from './provider';
import { ProviderRegistry } from './provider-registry';
import { TailscaleDriverModule } from './tailscale/tailscale-driver.module';

/**
 * The drivers and the registry that hands them to provider-agnostic code (lifecycle, setup,
 * disconnect). No routes: the worker imports this, the api imports ProvidersModule on top.
 */
@Module({
  imports: [GcpDriverModule, AzureDriverModule, TailscaleDriverModule, OvhDriverModule],
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
export class ProviderRegistryModule {}
