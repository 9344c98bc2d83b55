import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { setupJobDefaults } from '../lifecycle/setup/setup-jobs';
import { QUEUES } from './queues';
import { SetupQueue } from './setup-queue';

/**
 * The producer side of the `setup` queue, for the connectors. The queue is registered with the
 * setup defaults (attempts, backoff, retention), so every job added here gets them.
 */
@Module({
  imports: [
    BullModule.registerQueueAsync({
      name: QUEUES.setup,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({ defaultJobOptions: setupJobDefaults(config) }),
    }),
  ],
  providers: [SetupQueue],
  exports: [SetupQueue],
})
export class SetupQueueModule {}
