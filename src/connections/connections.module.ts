import { Module } from '@nestjs/common';
import { ProviderRegistryModule } from '../providers/provider-registry.module';
import { ConnectionStoreModule } from '../lifecycle/connection-store.module';
import { ConnectionsController } from './connections.controller';
import { ConnectionsService } from './connections.service';

@Module({
  imports: [ConnectionStoreModule, ProviderRegistryModule],
  controllers: [ConnectionsController],
  providers: [ConnectionsService],
  exports: [ConnectionsService],
})
export class ConnectionsModule {}
