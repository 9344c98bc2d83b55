import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { type Repository } from 'typeorm';
import { PendingClaimEntity, type PendingClaimOutcome } from '../entities';

export type NewPendingClaim = Omit<PendingClaimEntity, 'id' | 'createdAt' | 'takenAt' | 'outcome'>;

/**
 * Pending claims (SPEC §5). A row is *taken* once — by its claim, by a refused claim, or by the
 * sweep — in one UPDATE … RETURNING, so of two takers exactly one gets it; the taker does the
 * work and then deletes the row. A row taken and left (a crash) is taken again by a later sweep.
 */
@Injectable()
export class PendingClaimsRepository {
  constructor(
    @InjectRepository(PendingClaimEntity) private readonly rows: Repository<PendingClaimEntity>,
  ) {}

  async insert(row: NewPendingClaim): Promise<PendingClaimEntity> {
    return this.rows.save(this.rows.create({ ...row, takenAt: null, outcome: null }));
  }

  /**
   * Takes the untaken, unexpired claim with this hash, recording whether `userId` (the claimer)
   * is its user. Null for an unknown, used or expired claim.
   */
  async takeForClaim(
    claimHash: string,
    userId: string,
    now: Date,
  ): Promise<PendingClaimEntity | null> {
    const result = await this.rows
      .createQueryBuilder()
      .update(PendingClaimEntity)
      .set({
        takenAt: now,
        outcome: () => `CASE WHEN user_id = :userId THEN 'claimed' ELSE 'refused' END`,
      })
      .where('claim_hash = :claimHash AND taken_at IS NULL AND claim_expires_at > :now', {
        claimHash,
        now,
      })
      .setParameter('userId', userId)
      .returning('*')
      .execute();
    const raw = (result.raw as Record<string, unknown>[])[0];
    return raw ? this.fromRaw(raw) : null;
  }

  /**
   * For the sweep: up to `limit` claims nobody took before they expired, plus claims taken but
   * left unfinished before `staleBefore`, each taken anew (SKIP LOCKED: concurrent sweeps in
   * several workers take disjoint rows).
   */
  async takeForSweep(now: Date, staleBefore: Date, limit: number): Promise<PendingClaimEntity[]> {
    const result = await this.rows
      .createQueryBuilder()
      .update(PendingClaimEntity)
      .set({ takenAt: now, outcome: () => `COALESCE(outcome, 'expired')` })
      .where(
        `id IN (SELECT id FROM pending_claims
                WHERE (taken_at IS NULL AND claim_expires_at <= :now) OR taken_at < :staleBefore
                ORDER BY claim_expires_at LIMIT :limit FOR UPDATE SKIP LOCKED)`,
        { now, staleBefore, limit },
      )
      .returning('*')
      .execute();
    return (result.raw as Record<string, unknown>[]).map((raw) => this.fromRaw(raw));
  }

  /** Gives a taken claim back (its claim failed for a transient reason and may be tried again). */
  async release(id: string): Promise<void> {
    await this.rows.update({ id }, { takenAt: null, outcome: null });
  }

  async delete(id: string): Promise<void> {
    await this.rows.delete({ id });
  }

  private fromRaw(raw: Record<string, unknown>): PendingClaimEntity {
    return this.rows.create({
      id: raw.id as string,
      claimHash: raw.claim_hash as string,
      userId: raw.user_id as string,
      provider: raw.provider as PendingClaimEntity['provider'],
      accountRef: raw.account_ref as string,
      displayName: raw.display_name as string | null,
      metadata: raw.metadata as Record<string, unknown>,
      scopes: raw.scopes as string[],
      expiresAt: new Date(raw.expires_at as string),
      secretPath: raw.secret_path as string,
      claimExpiresAt: new Date(raw.claim_expires_at as string),
      takenAt: raw.taken_at === null ? null : new Date(raw.taken_at as string),
      outcome: raw.outcome as PendingClaimOutcome | null,
      createdAt: new Date(raw.created_at as string),
    });
  }
}
