import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { type Repository } from 'typeorm';
import { OAuthStateEntity } from '../entities';

@Injectable()
export class OAuthStatesRepository {
  constructor(
    @InjectRepository(OAuthStateEntity) private readonly rows: Repository<OAuthStateEntity>,
  ) {}

  async insert(row: Omit<OAuthStateEntity, 'id' | 'createdAt' | 'consumedAt'>): Promise<void> {
    await this.rows.save(this.rows.create({ ...row, consumedAt: null }));
  }

  /**
   * Marks the state consumed and returns it, in one statement: of two callbacks racing with the
   * same state, exactly one gets the row. A consumed or unknown state returns null.
   */
  async consume(stateHash: string): Promise<OAuthStateEntity | null> {
    const result = await this.rows
      .createQueryBuilder()
      .update(OAuthStateEntity)
      .set({ consumedAt: () => 'now()' })
      .where('state_hash = :stateHash AND consumed_at IS NULL', { stateHash })
      .returning('*')
      .execute();
    const raw = (result.raw as Record<string, unknown>[])[0];
    if (!raw) return null;
    return this.rows.create({
      id: raw.id as string,
      stateHash: raw.state_hash as string,
      provider: raw.provider as OAuthStateEntity['provider'],
      userId: raw.user_id as string,
      codeVerifierSealed: raw.code_verifier_sealed as string,
      redirectTo: raw.redirect_to as string | null,
      context: raw.context as Record<string, unknown>,
      expiresAt: new Date(raw.expires_at as string),
      consumedAt: new Date(raw.consumed_at as string),
      createdAt: new Date(raw.created_at as string),
    });
  }

  /** Deletes states that can no longer be used; returns how many. */
  async deleteExpired(olderThan: Date): Promise<number> {
    const result = await this.rows
      .createQueryBuilder()
      .delete()
      .where('expires_at < :olderThan', { olderThan })
      .execute();
    return result.affected ?? 0;
  }
}
