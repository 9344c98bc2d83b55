import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { getRepositoryToken } from '@nestjs/typeorm';
import { type Repository } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { ApiKeyEntity } from '../database/entities/api-key.entity';
import { AdminAuthenticator } from './admin-authenticator';
import { ApiKeysService } from './api-keys.service';
import { RedisService } from '../redis/redis.module';
import { AuthFailureAudit } from './auth-failure-audit';
import { AuthFailureLimiter } from './auth-failure-limiter';
import { AuthGuard } from './auth.guard';
import { JwtVerifier } from './jwt-verifier';
import { SessionAuthenticator } from './session-authenticator';
import { SessionStore } from './sessions';
import { BrokerTokenVerifier } from './broker-tokens';
import { Clock, SYSTEM_CLOCK } from '../common/clock';

/** Only the `auth` part of the configuration is read, so tests can provide just that. */
export type AuthConfig = Pick<AppConfig, 'auth'>;

/**
 * Caller authentication. Needs the global APP_CONFIG, the `ApiKeyEntity` repository and
 * `AuditService`; installs {@link AuthGuard} for every route.
 */
@Module({
  providers: [
    {
      provide: ApiKeysService,
      inject: [getRepositoryToken(ApiKeyEntity), { token: Clock, optional: true }],
      useFactory: (keys: Repository<ApiKeyEntity>, clock: Clock | undefined) =>
        new ApiKeysService(keys, clock ?? SYSTEM_CLOCK),
    },
    {
      provide: JwtVerifier,
      inject: [APP_CONFIG],
      useFactory: (config: AuthConfig) => new JwtVerifier(config.auth),
    },
    {
      provide: AuthFailureAudit,
      inject: [AuditService],
      useFactory: (audit: AuditService) => new AuthFailureAudit(audit),
    },
    {
      // Needs the global RedisModule; a test module without Redis gets no limiter.
      provide: AuthFailureLimiter,
      inject: [
        { token: RedisService, optional: true },
        APP_CONFIG,
        { token: Clock, optional: true },
      ],
      useFactory: (
        redis: RedisService | undefined,
        config: Partial<AppConfig>,
        clock: Clock | undefined,
      ) =>
        redis && config.rateLimit
          ? new AuthFailureLimiter(
              redis,
              config.rateLimit.authFailuresPerMinute,
              clock ?? SYSTEM_CLOCK,
            )
          : null,
    },
    {
      provide: AdminAuthenticator,
      inject: [APP_CONFIG, ApiKeysService, AuthFailureAudit],
      useFactory: (config: AuthConfig, keys: ApiKeysService, failures: AuthFailureAudit) =>
        new AdminAuthenticator(config.auth.admin, keys, failures),
    },
    {
      // Sessions exist only with sign-in on (SPEC §9) and Redis; else cookies are ignored.
      provide: SessionStore,
      inject: [
        { token: RedisService, optional: true },
        { token: Clock, optional: true },
        APP_CONFIG,
      ],
      useFactory: (
        redis: RedisService | undefined,
        clock: Clock | undefined,
        config: Partial<AppConfig>,
      ) =>
        redis && config.login?.enabled
          ? new SessionStore(redis, clock ?? SYSTEM_CLOCK, { login: config.login })
          : null,
    },
    {
      provide: SessionAuthenticator,
      inject: [SessionStore, APP_CONFIG],
      useFactory: (store: SessionStore | null, config: AppConfig) =>
        new SessionAuthenticator(store, config),
    },
    {
      // Filled with the keys of the broker's authorization server when it starts (api only).
      provide: BrokerTokenVerifier,
      inject: [APP_CONFIG],
      useFactory: (config: Partial<AppConfig>) => new BrokerTokenVerifier(config.publicUrl ?? ''),
    },
    AuthGuard,
    { provide: APP_GUARD, useExisting: AuthGuard },
  ],
  exports: [
    ApiKeysService,
    JwtVerifier,
    AdminAuthenticator,
    AuthFailureAudit,
    AuthFailureLimiter,
    SessionStore,
    SessionAuthenticator,
    BrokerTokenVerifier,
  ],
})
export class AuthModule {}
