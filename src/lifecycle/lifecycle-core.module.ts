import { Module } from '@nestjs/common';
import { ConnectionStoreModule } from './connection-store.module';
import { RefreshStateRepository } from '../database/repositories/refresh-state.repository';
import { LifecycleGauges } from './lifecycle-gauges';
import { LifecycleMetrics } from './lifecycle-metrics';
import { batchedAuditWriter } from '../audit/batched-audit-writer';
import { REFRESH_AUDIT, REFRESH_AUDIT_POLICY, RefreshReporter } from './refresh/refresh-reporter';
import { RefreshService } from './refresh/refresh.service';
import { TokenCache } from './token-cache';

/** The single-flight refresh and what it stands on, shared by the api and the worker. */
@Module({
  imports: [ConnectionStoreModule],
  providers: [
    RefreshStateRepository,
    LifecycleMetrics,
    LifecycleGauges,
    RefreshService,
    RefreshReporter,
    batchedAuditWriter(REFRESH_AUDIT, () => REFRESH_AUDIT_POLICY),
    { provide: TokenCache, useFactory: () => new TokenCache() },
  ],
  exports: [
    ConnectionStoreModule,
    RefreshStateRepository,
    LifecycleMetrics,
    RefreshService,
    TokenCache,
  ],
})
export class LifecycleCoreModule {}
