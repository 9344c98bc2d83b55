import { Module } from '@nestjs/common';
import { ConnectionsRepository } from '../database/repositories/connections.repository';
import { OAuthStatesRepository } from '../database/repositories/oauth-states.repository';
import { ConnectionChanges } from './connection-changes';
import { ConnectionWriter } from './connection-writer';

/** Persistence of connections, shared by the read API, the connectors and the lifecycle. */
@Module({
  providers: [ConnectionsRepository, OAuthStatesRepository, ConnectionWriter, ConnectionChanges],
  exports: [ConnectionsRepository, OAuthStatesRepository, ConnectionWriter, ConnectionChanges],
})
export class ConnectionStoreModule {}
