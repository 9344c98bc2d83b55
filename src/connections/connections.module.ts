import { Module } from '@nestjs/common';
import { batchedAuditWriter } from '../audit/batched-audit-writer';
import { SetupRunsRepository } from '../database/repositories/setup-runs.repository';
import { ConnectionRowCache } from '../lifecycle/connection-row-cache';
import { ConnectionStoreModule } from '../lifecycle/connection-store.module';
import { LifecycleCoreModule } from '../lifecycle/lifecycle-core.module';
import { LifecycleMetrics } from '../lifecycle/lifecycle-metrics';
import { PendingClaimsModule } from '../lifecycle/pending-claims.module';
import { ClaimController } from './claim.controller';
import { ClaimService } from './claim.service';
import { ConnectionsController } from './connections.controller';
import { ConnectionsService } from './connections.service';
import { ManualRefresh } from './manual-refresh';
import { RefreshRateLimit } from './refresh-rate-limit';
import { SetupController } from './setup.controller';
import { SetupService } from './setup.service';
import { TokenController } from './token.controller';
import { TOKEN_READ_AUDIT, TokenService, tokenReadAuditPolicy } from './token.service';

/**
 * The whole HTTP surface of connections: list, get, delete, token, refresh, setup view and retry,
 * and the claim that turns a provider callback's held consent into a connection.
 * It calls down into the engine (lifecycle/) and the provider registry, never sideways.
 */
@Module({
  imports: [ConnectionStoreModule, LifecycleCoreModule, PendingClaimsModule],
  controllers: [ClaimController, ConnectionsController, TokenController, SetupController],
  providers: [
    ConnectionsService,
    ClaimService,
    TokenService,
    batchedAuditWriter(TOKEN_READ_AUDIT, tokenReadAuditPolicy, [LifecycleMetrics]),
    ConnectionRowCache,
    RefreshRateLimit,
    ManualRefresh,
    SetupService,
    SetupRunsRepository,
  ],
  exports: [ConnectionsService, TokenService, ManualRefresh, SetupService, ClaimService],
})
export class ConnectionsModule {}
