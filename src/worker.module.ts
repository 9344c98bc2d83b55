import { type DynamicModule, Module } from '@nestjs/common';
import { BullModule } from '@nestjs/bullmq';
import { ScheduleModule } from '@nestjs/schedule';
import { LoggerModule } from 'nestjs-pino';
import { AuditModule } from './audit/audit.module';
import { loggerOptions } from './common/logger';
import { type AppConfig } from './config/config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { ReadinessService } from './health/readiness.service';
import { OAuthStateJanitorModule } from './providers/oauth/oauth-state-janitor';
import { RefreshWorkerModule } from './lifecycle/refresh/refresh-worker.module';
import { MetricsModule } from './metrics/metrics.module';
import { RedisModule } from './redis/redis.module';
import { redisOptionsFromUrl } from './redis/redis-options';
import { SecretsModule } from './secrets/secrets.module';
import { SetupWorkerModule } from './lifecycle/setup/setup-worker.module';

/** The worker process: BullMQ processors and the refresh scheduler (added by their modules). */
@Module({})
export class WorkerModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot({ pinoHttp: loggerOptions(config.logLevel, { process: 'worker' }) }),
        DatabaseModule,
        RedisModule,
        SecretsModule,
        MetricsModule,
        AuditModule,
        BullModule.forRoot({
          connection: { ...redisOptionsFromUrl(config.redis.url), maxRetriesPerRequest: null },
          prefix: `${config.redis.prefix}:bull`,
        }),
        ScheduleModule.forRoot(),
        RefreshWorkerModule,
        SetupWorkerModule,
        OAuthStateJanitorModule,
      ],
      providers: [ReadinessService],
    };
  }
}
