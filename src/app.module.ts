import { type DynamicModule, Module } from '@nestjs/common';
import { BullModule } from '@nestjs/bullmq';
import { APP_FILTER } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { LoggerModule } from 'nestjs-pino';
import { AdminModule } from './admin/admin.module';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { httpLoggerParams } from './common/http-logger';
import { ProblemFilter } from './common/problem.filter';
import { LOGIN_THROTTLER } from './common/rate-limit';
import { type AppConfig } from './config/config';
import { ConfigModule } from './config/config.module';
import { ConnectionsModule } from './connections/connections.module';
import { LifecycleModule } from './lifecycle/lifecycle.module';
import { DatabaseModule } from './database/database.module';
import { HealthController } from './health/health.controller';
import { ReadinessService } from './health/readiness.service';
import { MetricsController } from './metrics/metrics.controller';
import { MetricsModule } from './metrics/metrics.module';
import { ProvidersModule } from './providers/providers.module';
import { RedisModule, RedisService } from './redis/redis.module';
import { redisOptionsFromUrl } from './redis/redis-options';
import { SecretsModule } from './secrets/secrets.module';
import { SetupModule } from './connections/setup.module';

/** The HTTP api process. */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot(httpLoggerParams(config)),
        DatabaseModule,
        RedisModule,
        SecretsModule,
        MetricsModule,
        AuditModule,
        AuthModule,
        ThrottlerModule.forRootAsync({
          inject: [RedisService],
          useFactory: (redis: RedisService) => ({
            throttlers: [
              { name: LOGIN_THROTTLER, ttl: 60_000, limit: config.rateLimit.loginPerMinute },
            ],
            storage: new ThrottlerStorageRedisService(redis.client),
          }),
        }),
        // The api only produces jobs (setup after a connect); same connection and prefix as the worker.
        BullModule.forRoot({
          connection: { ...redisOptionsFromUrl(config.redis.url), maxRetriesPerRequest: null },
          prefix: `${config.redis.prefix}:bull`,
        }),
        ProvidersModule,
        ConnectionsModule,
        LifecycleModule,
        SetupModule,
        AdminModule,
      ],
      controllers: [HealthController, MetricsController],
      providers: [ReadinessService, { provide: APP_FILTER, useClass: ProblemFilter }],
    };
  }
}
