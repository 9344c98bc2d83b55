import { Module } from '@nestjs/common';
import { JobDashboardQueues } from './job-dashboard.queues';

/** Operator pages outside the JSON API: the job dashboard. Needs `JobsModule` (the queues). */
@Module({ providers: [JobDashboardQueues], exports: [JobDashboardQueues] })
export class AdminModule {}
