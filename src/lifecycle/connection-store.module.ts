import { Module } from '@nestjs/common';
import { ConnectionsRepository } from '../database/repositories/connections.repository';
import { OAuthStatesRepository } from '../database/repositories/oauth-states.repository';
import { SetupRunsRepository } from '../database/repositories/setup-runs.repository';
import { EventsModule } from '../events/events.module';
import { ConnectionChanges } from './connection-changes';
import { ConnectionLocks } from './connection-locks';
import { ConnectionWriter } from './connection-writer';
import { LockService } from './redis-lock';

/**
 * Persistence of connections, shared by the read API, the connectors and the lifecycle, with the
 * webhook outbox its writes raise events into.
 */
@Module({
  imports: [EventsModule],
  providers: [
    SetupRunsRepository,
    ConnectionsRepository,
    OAuthStatesRepository,
    ConnectionWriter,
    ConnectionChanges,
    ConnectionLocks,
    LockService,
  ],
  exports: [
    EventsModule,
    ConnectionsRepository,
    OAuthStatesRepository,
    ConnectionWriter,
    ConnectionChanges,
    ConnectionLocks,
    LockService,
  ],
})
export class ConnectionStoreModule {}
