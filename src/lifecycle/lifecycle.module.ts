import { ConnectionStoreModule } from './connection-store.module';
import { ConnectionRowCache } from './connection-row-cache';
import { Module } from '@nestjs/common';
import { ConnectionsModule } from '../connections/connections.module';
import { ProviderRegistryModule } from '../providers/provider-registry.module';
import { LifecycleCoreModule } from './lifecycle-core.module';
import { RefreshRateLimit } from '../connections/refresh-rate-limit';
import { TailscaleRefreshController } from '../providers/tailscale/tailscale-refresh.controller';
import { TokenController } from '../connections/token.controller';
import { TokenReadAudit } from '../connections/token-read-audit';
import { TokenService } from '../connections/token.service';

/** The api side of the token lifecycle: token reads and manual refreshes. */
@Module({
  imports: [LifecycleCoreModule, ConnectionsModule, ConnectionStoreModule, ProviderRegistryModule],
  controllers: [TokenController, TailscaleRefreshController],
  providers: [TokenService, TokenReadAudit, RefreshRateLimit, ConnectionRowCache],
})
export class LifecycleModule {}
