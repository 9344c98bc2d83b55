import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { LoggerModule } from 'nestjs-pino';
import { AdminModule } from './admin/admin.module';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { ClockModule } from './common/clock';
import { httpLoggerParams } from './http/http-logger';
import { ProblemFilter } from './common/problem.filter';
import { LOGIN_THROTTLER } from './auth/login-rate-limit';
import { type AppConfig } from './config/config';
import { ConfigModule } from './config/config.module';
import { ConnectionsModule } from './connections/connections.module';
import { DatabaseModule } from './database/database.module';
import { HealthController } from './health/health.controller';
import { IdentityModule } from './identity/identity.module';
import { ReadinessService } from './health/readiness.service';
import { MetricsController } from './metrics/metrics.controller';
import { McpModule } from './mcp/mcp.module';
import { MetricsModule } from './metrics/metrics.module';
import { JobsModule } from './jobs/jobs.module';
import { AwsDriverModule } from './providers/aws/aws-driver.module';
import { AzureDriverModule } from './providers/azure/azure-driver.module';
import { AwsModule } from './providers/aws/aws.module';
import { AzureModule } from './providers/azure/azure.module';
import { GcpDriverModule } from './providers/gcp/gcp-driver.module';
import { GcpModule } from './providers/gcp/gcp.module';
import { OvhDriverModule } from './providers/ovh/ovh-driver.module';
import { OvhModule } from './providers/ovh/ovh.module';
import { ProviderRegistryModule } from './providers/provider-registry.module';
import { TailscaleDriverModule } from './providers/tailscale/tailscale-driver.module';
import { TailscaleModule } from './providers/tailscale/tailscale.module';
import { RedisModule, RedisService } from './redis/redis.module';
import { SecretsModule } from './secrets/secrets.module';
import { WebModule } from './web/web.module';

/** The HTTP api process. */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        ClockModule,
        LoggerModule.forRoot(httpLoggerParams(config)),
        DatabaseModule.forRoot('api'),
        RedisModule,
        SecretsModule,
        MetricsModule,
        AuditModule,
        AuthModule,
        IdentityModule,
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
        JobsModule.forRoot(config),
        // The one place (with worker.module.ts) that assembles the providers into the registry.
        ProviderRegistryModule.forDrivers([
          GcpDriverModule,
          AzureDriverModule,
          TailscaleDriverModule,
          OvhDriverModule,
          AwsDriverModule,
        ]),
        ConnectionsModule,
        GcpModule,
        AzureModule,
        TailscaleModule,
        OvhModule,
        AwsModule,
        McpModule,
        WebModule,
        AdminModule,
      ],
      controllers: [HealthController, MetricsController],
      providers: [ReadinessService, { provide: APP_FILTER, useClass: ProblemFilter }],
    };
  }
}
