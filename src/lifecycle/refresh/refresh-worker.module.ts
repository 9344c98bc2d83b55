import { Module } from '@nestjs/common';
import { BullModule } from '@nestjs/bullmq';
import { QUEUES } from '../../jobs/queues';
import { LifecycleCoreModule } from '../lifecycle-core.module';
import { RefreshProcessor } from './refresh.processor';
import { RefreshScheduler } from './refresh-scheduler';

/**
 * The worker side of the token lifecycle: the scheduler tick and the refresh processor. Needs
 * `BullModule.forRoot` and `ScheduleModule.forRoot` from the worker module.
 */
@Module({
  imports: [LifecycleCoreModule, BullModule.registerQueue({ name: QUEUES.refresh })],
  providers: [RefreshScheduler, RefreshProcessor],
})
export class RefreshWorkerModule {}
