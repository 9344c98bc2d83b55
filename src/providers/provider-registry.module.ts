import { type DynamicModule, Global, Module, type Type } from '@nestjs/common';
import { PROVIDERS } from '../database/enums';
import { CREDENTIAL_PROVIDERS, type CredentialProvider, DRIVER_TOKENS } from './provider';
import { ProviderRegistry } from './provider-registry';

/**
 * The registry that hands the drivers to provider-agnostic code (connections, lifecycle, setup).
 * The entry modules (app.module.ts, worker.module.ts) are the only places that name the driver
 * modules: `ProviderRegistryModule.forDrivers([...])`. Global, so core modules inject the
 * registry without importing any provider module.
 */
@Global()
@Module({})
export class ProviderRegistryModule {
  static forDrivers(driverModules: Type[]): DynamicModule {
    return {
      module: ProviderRegistryModule,
      imports: driverModules,
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
    };
  }
}
