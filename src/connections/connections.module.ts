import { Module } from '@nestjs/common';
import { ProvidersModule } from '../providers/providers.module';
import { ConnectionStoreModule } from './connection-store.module';
import { ConnectionsController } from './connections.controller';
import { ConnectionsService } from './connections.service';

@Module({
  imports: [ConnectionStoreModule, ProvidersModule],
  controllers: [ConnectionsController],
  providers: [ConnectionsService],
  exports: [ConnectionsService],
})
export class ConnectionsModule {}
