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
import { type ConnectionEntity } from '../../database/entities';
import { ConnectionsRepository } from '../../database/repositories/connections.repository';
import {
  type CredentialProvider,
  type MaintainOutcome,
  providerFailureReason,
} from '../../providers/provider';
import { ProviderRegistry } from '../../providers/provider-registry';
import { SECRET_STORE, type SecretStore } from '../../secrets/secret-store';
import { ConnectionStoreModule } from '../connection-store.module';
import { ConnectionWriter } from '../connection-writer';
import { PeriodicPass } from '../periodic-pass';

const INTERVAL_NAME = 'setup-maintenance';
const PAGE = 200;

/**
 * Keeps what setup made usable (SPEC §14): every SETUP_MAINTENANCE_INTERVAL_SECONDS the worker
 * asks each driver that has `maintain` to look at its active connections (Tailscale: replace an
 * auth key that expires within 14 days; Azure: record the client secret's expiry and raise
 * `connection.secret_expiring` 14 days ahead). Several workers at once are harmless: a driver
 * writes its secrets with check-and-set and undoes what it made when it loses, and what it asks
 * of the row is applied only to the row it saw (so an event is raised once, not per worker).
 */
@Injectable()
export class SetupMaintenance implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SetupMaintenance.name);
  private readonly periodic: PeriodicPass;

  constructor(
    private readonly providers: ProviderRegistry,
    private readonly connections: ConnectionsRepository,
    @Inject(SECRET_STORE) private readonly secrets: SecretStore,
    private readonly audit: AuditService,
    private readonly writer: ConnectionWriter,
    registry: SchedulerRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.periodic = new PeriodicPass(registry, INTERVAL_NAME, () => this.pass());
  }

  onApplicationBootstrap(): void {
    this.periodic.start(this.config.setupMaintenance.intervalSeconds * 1000);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.periodic.stop();
  }

  /** One pass over every maintained provider; a pass still running is not doubled. */
  run(): Promise<number> {
    return this.periodic.run();
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
    listed: ConnectionEntity,
  ): Promise<boolean> {
    let connection = listed;
    try {
      // The row as it is now, not as the page saw it minutes ago: what the driver decides from
      // it is applied only while it stays so (`ConnectionWriter.recordMaintenance`).
      const current = await this.connections.findById(listed.id);
      if (current?.status !== 'active') return false;
      connection = current;
      const secret = await this.secrets.read(connection.vaultPath);
      if (!secret || !driver.maintain) return false;
      const outcome = await driver.maintain(connection, secret.reveal(), async () => {
        const now = await this.connections.findById(connection.id);
        return now !== null && now.status !== 'revoked' && now.vaultPath === connection.vaultPath;
      });
      if (outcome === null) return false;
      return await this.apply(connection, outcome);
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

  /**
   * The driver's facts and events go to the row through the writer (one transaction with the
   * outbox); a row that changed meanwhile drops them, and the next pass decides again.
   */
  private async apply(connection: ConnectionEntity, outcome: MaintainOutcome): Promise<boolean> {
    const metadata = outcome.metadata ?? {};
    const events = outcome.events ?? [];
    if (Object.keys(metadata).length > 0 || events.length > 0) {
      const recorded = await this.writer.recordMaintenance(connection, metadata, events);
      if (!recorded) {
        this.logger.log(
          { connectionId: connection.id, provider: connection.provider },
          'connection changed during maintenance; next pass decides again',
        );
        return false;
      }
    }
    this.logger.log(
      {
        connectionId: connection.id,
        provider: connection.provider,
        did: outcome.did,
        metadata: Object.keys(metadata),
        events: events.map((e) => e.type),
      },
      outcome.did ? 'setup output renewed' : 'connection facts recorded',
    );
    if (outcome.did !== undefined) {
      await this.audit.record({
        actorType: 'system',
        action: 'setup.maintained',
        outcome: 'success',
        connectionId: connection.id,
        provider: connection.provider,
        details: { did: outcome.did },
      });
    }
    return true;
  }
}

/** The worker's setup upkeep. Needs `ScheduleModule.forRoot` from the worker module. */
@Module({ imports: [ConnectionStoreModule], providers: [SetupMaintenance] })
export class SetupMaintenanceModule {}
