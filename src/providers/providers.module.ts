import { Module } from '@nestjs/common';
import { AzureModule } from './azure/azure.module';
import { GcpModule } from './gcp/gcp.module';
import { OvhModule } from './ovh/ovh.module';
import { ProviderRegistryModule } from './provider-registry.module';
import { TailscaleModule } from './tailscale/tailscale.module';

/** The connectors' routes (api only), with the driver registry. */
@Module({
  imports: [ProviderRegistryModule, GcpModule, AzureModule, TailscaleModule, OvhModule],
  exports: [ProviderRegistryModule],
})
export class ProvidersModule {}
