import { Module } from '@nestjs/common';
import { BullModule } from '@nestjs/bullmq';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { ConnectionsModule } from './connections.module';
import { SetupRunsRepository } from '../database/repositories/setup-runs.repository';
import { QUEUES } from '../jobs/queues';
import { setupJobDefaults } from '../lifecycle/setup/setup-jobs';
import { SetupController } from './setup.controller';
import { SetupService } from './setup.service';

/** The api side of setup: read a run, retry it. Needs `BullModule.forRoot` from the app module. */
@Module({
  imports: [
    ConnectionsModule,
    BullModule.registerQueueAsync({
      name: QUEUES.setup,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({ defaultJobOptions: setupJobDefaults(config) }),
    }),
  ],
  controllers: [SetupController],
  providers: [SetupService, SetupRunsRepository],
})
export class SetupModule {}
