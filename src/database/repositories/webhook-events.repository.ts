import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { type EntityManager, IsNull, type Repository } from 'typeorm';
import { type QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { WebhookEventEntity } from '../entities';
import { type WebhookEventType } from '../enums';

export interface NewWebhookEvent {
  id: string;
  type: WebhookEventType;
  connectionId: string;
  payload: Record<string, unknown>;
}

/** The webhook outbox: inserts in the caller's transaction, and the delivery's bookkeeping. */
@Injectable()
export class WebhookEventsRepository {
  constructor(
    @InjectRepository(WebhookEventEntity) private readonly rows: Repository<WebhookEventEntity>,
  ) {}

  /** In `manager`'s transaction: the event commits with the change that caused it, or not at all. */
  async insert(manager: EntityManager, event: NewWebhookEvent): Promise<void> {
    await manager
      .createQueryBuilder()
      .insert()
      .into(WebhookEventEntity)
      .values(event as QueryDeepPartialEntity<WebhookEventEntity>)
      .execute();
  }

  async findById(id: string): Promise<WebhookEventEntity | null> {
    return this.rows.findOne({ where: { id } });
  }

  /** Ids of events neither delivered nor given up, oldest first (the partial index). */
  async findPendingIds(limit: number): Promise<string[]> {
    const rows = await this.rows.find({
      select: { id: true },
      where: { deliveredAt: IsNull(), givenUpAt: IsNull() },
      order: { createdAt: 'ASC' },
      take: limit,
    });
    return rows.map((r) => r.id);
  }

  async markDelivered(id: string, attempts: number): Promise<void> {
    await this.rows.update({ id }, { deliveredAt: () => 'now()', attempts, lastError: null });
  }

  async markFailed(id: string, attempts: number, lastError: string): Promise<void> {
    await this.rows.update({ id }, { attempts, lastError });
  }

  async markGivenUp(id: string, attempts: number, lastError: string): Promise<void> {
    await this.rows.update({ id }, { givenUpAt: () => 'now()', attempts, lastError });
  }
}
