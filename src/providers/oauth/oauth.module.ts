import { Module } from '@nestjs/common';
import { ConnectionStoreModule } from '../../lifecycle/connection-store.module';
import { PendingClaimsModule } from '../../lifecycle/pending-claims.module';
import { AuthorizationCodeCallback } from './authorization-code-callback';
import { OAuthStateService } from './oauth-state.service';

/** One-time OAuth states and the shared callback, for the authorization-code connectors (GCP, OVH). */
@Module({
  imports: [ConnectionStoreModule, PendingClaimsModule],
  providers: [OAuthStateService, AuthorizationCodeCallback],
  exports: [OAuthStateService, AuthorizationCodeCallback],
})
export class OAuthModule {}
