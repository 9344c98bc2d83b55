import { Module } from '@nestjs/common';
import { ConnectionStoreModule } from '../../connections/connection-store.module';
import { OAuthStateService } from './oauth-state.service';

/** One-time OAuth states, for the authorization-code connectors (GCP, OVH). */
@Module({
  imports: [ConnectionStoreModule],
  providers: [OAuthStateService],
  exports: [OAuthStateService],
})
export class OAuthModule {}
