import { Module } from '@nestjs/common';
import { ConnectionsRepository } from '../database/repositories/connections.repository';
import { OAuthStatesRepository } from '../database/repositories/oauth-states.repository';
import { ConnectionChanges } from './connection-changes';
import { ConnectionLocks } from './connection-locks';
import { ConnectionWriter } from './connection-writer';
import { LockService } from './redis-lock';

/** Persistence of connections, shared by the read API, the connectors and the lifecycle. */
@Module({
  providers: [
    ConnectionsRepository,
    OAuthStatesRepository,
    ConnectionWriter,
    ConnectionChanges,
    ConnectionLocks,
    LockService,
  ],
  exports: [
    ConnectionsRepository,
    OAuthStatesRepository,
    ConnectionWriter,
    ConnectionChanges,
    ConnectionLocks,
    LockService,
  ],
})
export class ConnectionStoreModule {}
