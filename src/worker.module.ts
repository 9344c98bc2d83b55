import { type DynamicModule, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { LoggerModule } from 'nestjs-pino';
import { AuditModule } from './audit/audit.module';
import { ClockModule } from './common/clock';
import { loggerOptions } from './common/logger';
import { type AppConfig } from './config/config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { ReadinessService } from './health/readiness.service';
import { OAuthStateJanitorModule } from './providers/oauth/oauth-state-janitor';
import { RefreshWorkerModule } from './lifecycle/refresh/refresh-worker.module';
import { JobsModule } from './jobs/jobs.module';
import { MetricsModule } from './metrics/metrics.module';
import { AwsDriverModule } from './providers/aws/aws-driver.module';
import { AzureDriverModule } from './providers/azure/azure-driver.module';
import { GcpDriverModule } from './providers/gcp/gcp-driver.module';
import { OvhDriverModule } from './providers/ovh/ovh-driver.module';
import { ProviderRegistryModule } from './providers/provider-registry.module';
import { TailscaleDriverModule } from './providers/tailscale/tailscale-driver.module';
import { RedisModule } from './redis/redis.module';
import { SecretsModule } from './secrets/secrets.module';
import { SetupWorkerModule } from './lifecycle/setup/setup-worker.module';
import { PendingClaimSweeperModule } from './lifecycle/pending-claim-sweeper';
import { SetupMaintenanceModule } from './lifecycle/setup/setup-maintenance';
import { WebhookWorkerModule } from './events/webhook-worker.module';

/** The worker process: BullMQ processors and the refresh scheduler (added by their modules). */
@Module({})
export class WorkerModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        ConfigModule.forRoot(config),
        ClockModule,
        LoggerModule.forRoot({ pinoHttp: loggerOptions(config.logLevel, { process: 'worker' }) }),
        DatabaseModule.forRoot('worker'),
        RedisModule,
        SecretsModule,
        MetricsModule,
        AuditModule,
        JobsModule.forRoot(config),
        // The one place (with app.module.ts) that assembles the providers into the registry.
        ProviderRegistryModule.forDrivers([
          GcpDriverModule,
          AzureDriverModule,
          TailscaleDriverModule,
          OvhDriverModule,
          AwsDriverModule,
        ]),
        ScheduleModule.forRoot(),
        RefreshWorkerModule,
        SetupWorkerModule,
        OAuthStateJanitorModule,
        PendingClaimSweeperModule,
        SetupMaintenanceModule,
        WebhookWorkerModule,
      ],
      providers: [ReadinessService],
    };
  }
}
