import { Check, Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { PROVIDERS, sqlIn, type Provider } from '../enums';

/** What became of a taken claim, so a sweep that finds it half-done knows whether to revoke. */
export const PENDING_CLAIM_OUTCOMES = ['claimed', 'refused', 'expired'] as const;
export type PendingClaimOutcome = (typeof PENDING_CLAIM_OUTCOMES)[number];

/**
 * A consent that waits for its user (SPEC §5 "pending claim"): the provider callback ran, the
 * token set is held in the secret store at `secret_path`, and the connection is made only when
 * the user of the login's state claims it. Only the SHA-256 of the one-time claim code is kept.
 */
@Entity({ name: 'pending_claims' })
@Index('IDX_pending_claims_claim_expires_at', ['claimExpiresAt'])
@Check('CHK_pending_claims_provider', `"provider" IN (${sqlIn(PROVIDERS)})`)
@Check('CHK_pending_claims_outcome', `"outcome" IN (${sqlIn(PENDING_CLAIM_OUTCOMES)})`)
export class PendingClaimEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Index('UQ_pending_claims_claim_hash', { unique: true })
  @Column({ name: 'claim_hash', type: 'text' })
  claimHash!: string;

  /** The user of the login's state: the only one who may claim. */
  @Column({ name: 'user_id', type: 'text' })
  userId!: string;

  @Column({ type: 'text' })
  provider!: Provider;

  @Column({ name: 'account_ref', type: 'text' })
  accountRef!: string;

  @Column({ name: 'display_name', type: 'text', nullable: true })
  displayName!: string | null;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  metadata!: Record<string, unknown>;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  scopes!: string[];

  /** When the held access token expires (the connection's `expires_at` once claimed). */
  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'secret_path', type: 'text' })
  secretPath!: string;

  /** After this the claim is refused and the sweep revokes the grant (CLAIM_TTL_SECONDS). */
  @Column({ name: 'claim_expires_at', type: 'timestamptz' })
  claimExpiresAt!: Date;

  /** Set when a claim, a refusal or the sweep took the row; it is deleted once that is done. */
  @Column({ name: 'taken_at', type: 'timestamptz', nullable: true })
  takenAt!: Date | null;

  @Column({ type: 'text', nullable: true })
  outcome!: PendingClaimOutcome | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
