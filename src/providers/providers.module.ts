import { Module } from '@nestjs/common';
import { ConnectionStoreModule } from '../connections/connection-store.module';
import { OAuthStateService } from './oauth/oauth-state.service';
import { CREDENTIAL_PROVIDERS, type CredentialProvider } from './provider';
import { ProviderRegistry } from './provider-registry';

/**
 * The connectors. Each provider folder adds its controller, its client (the SDK edge) and its
 * driver here, and lists the driver in CREDENTIAL_PROVIDERS.
 */
@Module({
  imports: [ConnectionStoreModule],
  providers: [
    OAuthStateService,
    {
      provide: CREDENTIAL_PROVIDERS,
      inject: [],
      useFactory: (...drivers: CredentialProvider[]) => drivers,
    },
    ProviderRegistry,
  ],
  exports: [ProviderRegistry, OAuthStateService],
})
export class ProvidersModule {}
