import { Module } from '@nestjs/common';
import { WebhookEventsRepository } from '../database/repositories/webhook-events.repository';
import { WebhookOutbox } from './webhook-outbox';

/** The outbox, for every process that changes connections (the api and the worker). */
@Module({
  providers: [WebhookEventsRepository, WebhookOutbox],
  exports: [WebhookEventsRepository, WebhookOutbox],
})
export class EventsModule {}
