import { Module } from '@nestjs/common';
import { LifecycleCoreModule } from '../lifecycle-core.module';
import { RefreshProcessor } from './refresh.processor';
import { RefreshScheduler } from './refresh-scheduler';

/**
 * The worker side of the token lifecycle: the scheduler tick and the refresh processor. Needs
 * `JobsModule` and `ScheduleModule.forRoot` from the worker module.
 */
@Module({
  imports: [LifecycleCoreModule],
  providers: [RefreshScheduler, RefreshProcessor],
})
export class RefreshWorkerModule {}
