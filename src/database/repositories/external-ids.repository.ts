import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { type Repository } from 'typeorm';
import { ExternalIdEntity } from '../entities';
import { type Provider } from '../enums';

/**
 * A user's external id at a provider: read, or made once. Two first uses at the same time both
 * insert with ON CONFLICT DO NOTHING and then read, so both see the one id that won.
 */
@Injectable()
export class ExternalIdsRepository {
  constructor(
    @InjectRepository(ExternalIdEntity) private readonly rows: Repository<ExternalIdEntity>,
  ) {}

  async find(userId: string, provider: Provider): Promise<string | null> {
    const row = await this.rows.findOne({ where: { userId, provider } });
    return row?.externalId ?? null;
  }

  /** The user's id, inserting `make()` when there is none yet (a clash of `make()` retries). */
  async findOrCreate(userId: string, provider: Provider, make: () => string): Promise<string> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const existing = await this.find(userId, provider);
      if (existing !== null) return existing;
      await this.rows
        .createQueryBuilder()
        .insert()
        .into(ExternalIdEntity)
        .values({ userId, provider, externalId: make() })
        .orIgnore()
        .execute();
    }
    const made = await this.find(userId, provider);
    if (made === null) throw new Error('could not make an external id');
    return made;
  }
}
