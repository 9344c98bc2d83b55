import { Module } from '@nestjs/common';
import { PendingClaimsRepository } from '../database/repositories/pending-claims.repository';
import { ConnectionStoreModule } from './connection-store.module';
import { PendingClaims } from './pending-claims';

/**
 * Consents held for their user (SPEC §5): the provider callbacks hold, POST /connections/claim
 * claims, the worker sweeps. Needs the global JobsModule and ProviderRegistryModule.
 */
@Module({
  imports: [ConnectionStoreModule],
  providers: [PendingClaimsRepository, PendingClaims],
  exports: [PendingClaims],
})
export class PendingClaimsModule {}
