import { Module } from '@nestjs/common';
import { EventsModule } from './events.module';
import { WebhookMetrics } from './webhook-metrics';
import { WebhookProcessor } from './webhook.processor';
import { WebhookRelay } from './webhook-relay';
import { WebhookSender } from './webhook-sender';

/** The worker side of webhooks: delivery and the outbox relay. Needs JobsModule. */
@Module({
  imports: [EventsModule],
  providers: [WebhookSender, WebhookMetrics, WebhookProcessor, WebhookRelay],
})
export class WebhookWorkerModule {}
