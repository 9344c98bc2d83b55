import { BullModule } from '@nestjs/bullmq';
import { type DynamicModule, Global, Module } from '@nestjs/common';
import { type AppConfig } from '../config/config';
import { redisOptionsFromUrl } from '../redis/redis-options';
import { QUEUES, setupJobDefaults, webhookJobDefaults } from './queues';
import { SetupQueue } from './setup-queue';

/**
 * BullMQ for a process, once: the connection and prefix (`BullModule.forRoot`) and every queue,
 * each registered once with its defaults, plus the setup producer. The api and the worker import
 * it from their entry modules; every module can then inject any queue.
 */
@Global()
@Module({})
export class JobsModule {
  static forRoot(config: AppConfig): DynamicModule {
    const queues = BullModule.registerQueue(
      { name: QUEUES.setup, defaultJobOptions: setupJobDefaults(config) },
      { name: QUEUES.refresh },
      { name: QUEUES.webhooks, defaultJobOptions: webhookJobDefaults(config) },
    );
    return {
      module: JobsModule,
      imports: [
        BullModule.forRoot({
          connection: { ...redisOptionsFromUrl(config.redis.url), maxRetriesPerRequest: null },
          prefix: `${config.redis.prefix}:bull`,
        }),
        queues,
      ],
      providers: [SetupQueue],
      exports: [queues, SetupQueue],
    };
  }
}
