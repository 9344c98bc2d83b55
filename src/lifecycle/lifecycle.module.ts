import { ConnectionStoreModule } from '../connections/connection-store.module';
import { ConnectionRowCache } from './connection-row-cache';
import { Module } from '@nestjs/common';
import { ConnectionsModule } from '../connections/connections.module';
import { ProviderRegistryModule } from '../providers/provider-registry.module';
import { LifecycleCoreModule } from './lifecycle-core.module';
import { RefreshRateLimit } from './refresh-rate-limit';
import { TailscaleRefreshController } from './tailscale-refresh.controller';
import { TokenController } from './token.controller';
import { TokenReadAudit } from './token-read-audit';
import { TokenService } from './token.service';

/** The api side of the token lifecycle: token reads and manual refreshes. */
@Module({
  imports: [LifecycleCoreModule, ConnectionsModule, ConnectionStoreModule, ProviderRegistryModule],
  controllers: [TokenController, TailscaleRefreshController],
  providers: [TokenService, TokenReadAudit, RefreshRateLimit, ConnectionRowCache],
})
export class LifecycleModule {}
