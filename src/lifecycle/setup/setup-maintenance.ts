import {
  Inject,
  Injectable,
  Logger,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { AuditService } from '../../audit/audit.service';
import { APP_CONFIG, type AppConfig } from '../../config/config';
import { ConnectionsRepository } from '../../database/repositories/connections.repository';
import { type CredentialProvider, providerFailureReason } from '../../providers/provider';
import { ProviderRegistry } from '../../providers/provider-registry';
import { SECRET_STORE, type SecretStore } from '../../secrets/secret-store';

const INTERVAL_NAME = 'setup-maintenance';
const PAGE = 200;

/**
 * Keeps what setup made usable (SPEC §14): every SETUP_MAINTENANCE_INTERVAL_SECONDS the worker
 * asks each driver that has `maintain` to look at its active connections (Tailscale: replace an
 * auth key that expires within 14 days). Several workers at once are harmless: a driver writes
 * with check-and-set and undoes what it made when it loses.
 */
@Injectable()
export class SetupMaintenance implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SetupMaintenance.name);
  private running: Promise<number> | null = null;

  constructor(
    private readonly providers: ProviderRegistry,
    private readonly connections: ConnectionsRepository,
    @Inject(SECRET_STORE) private readonly secrets: SecretStore,
    private readonly audit: AuditService,
    private readonly registry: SchedulerRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const every = this.config.setupMaintenance.intervalSeconds * 1000;
    this.registry.addInterval(
      INTERVAL_NAME,
      setInterval(() => void this.run(), every),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.registry.doesExist('interval', INTERVAL_NAME))
      this.registry.deleteInterval(INTERVAL_NAME);
    await this.running?.catch(() => undefined);
  }

  /** One pass over every maintained provider; a pass still running is not doubled. */
  run(): Promise<number> {
    this.running ??= this.pass().finally(() => (this.running = null));
    return this.running;
  }

  private async pass(): Promise<number> {
    let done = 0;
    for (const driver of this.providers.maintained()) {
      try {
        done += await this.maintainAll(driver);
      } catch (err) {
        this.logger.warn(
          { err, provider: driver.provider },
          'setup maintenance pass failed; next time',
        );
      }
    }
    return done;
  }

  private async maintainAll(driver: CredentialProvider): Promise<number> {
    let done = 0;
    let after;
    do {
      const page = await this.connections.list({
        provider: driver.provider,
        status: 'active',
        after,
        limit: PAGE,
      });
      for (const connection of page.items) {
        if (await this.maintainOne(driver, connection)) done += 1;
      }
      after = page.next;
    } while (after);
    return done;
  }

  private async maintainOne(
    driver: CredentialProvider,
    connection: Parameters<NonNullable<CredentialProvider['maintain']>>[0],
  ): Promise<boolean> {
    try {
      const secret = await this.secrets.read(connection.vaultPath);
      if (!secret || !driver.maintain) return false;
      const did = await driver.maintain(connection, secret.reveal(), async () => {
        const now = await this.connections.findById(connection.id);
        return now !== null && now.status !== 'revoked' && now.vaultPath === connection.vaultPath;
      });
      if (did === null) return false;
      this.logger.log(
        { connectionId: connection.id, provider: connection.provider, did },
        'setup output renewed',
      );
      await this.audit.record({
        actorType: 'system',
        action: 'setup.maintained',
        outcome: 'success',
        connectionId: connection.id,
        provider: connection.provider,
        details: { did },
      });
      return true;
    } catch (err) {
      this.logger.warn(
        {
          connectionId: connection.id,
          provider: connection.provider,
          reason: providerFailureReason(err),
        },
        'setup maintenance of a connection failed; next time',
      );
      await this.audit.record({
        actorType: 'system',
        action: 'setup.maintained',
        outcome: 'failure',
        connectionId: connection.id,
        provider: connection.provider,
        errorCode: providerFailureReason(err),
      });
      return false;
    }
  }
}

/** The worker's setup upkeep. Needs `ScheduleModule.forRoot` from the worker module. */
@Module({ providers: [SetupMaintenance, ConnectionsRepository] })
export class SetupMaintenanceModule {}
