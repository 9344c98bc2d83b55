import { Module } from '@nestjs/common';
import { SetupRunsRepository } from '../database/repositories/setup-runs.repository';
import { ConnectionRowCache } from '../lifecycle/connection-row-cache';
import { ConnectionStoreModule } from '../lifecycle/connection-store.module';
import { LifecycleCoreModule } from '../lifecycle/lifecycle-core.module';
import { ConnectionsController } from './connections.controller';
import { ConnectionsService } from './connections.service';
import { ManualRefresh } from './manual-refresh';
import { RefreshRateLimit } from './refresh-rate-limit';
import { SetupController } from './setup.controller';
import { SetupService } from './setup.service';
import { TokenController } from './token.controller';
import { TokenReadAudit } from './token-read-audit';
import { TokenService } from './token.service';

/**
 * The whole HTTP surface of connections: list, get, delete, token, refresh, setup view and retry.
 * It calls down into the engine (lifecycle/) and the provider registry, never sideways.
 */
@Module({
  imports: [ConnectionStoreModule, LifecycleCoreModule],
  controllers: [ConnectionsController, TokenController, SetupController],
  providers: [
    ConnectionsService,
    TokenService,
    TokenReadAudit,
    ConnectionRowCache,
    RefreshRateLimit,
    ManualRefresh,
    SetupService,
    SetupRunsRepository,
  ],
  exports: [ConnectionsService, ManualRefresh],
})
export class ConnectionsModule {}
