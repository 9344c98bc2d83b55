import { Check, Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { PROVIDERS, sqlIn, type Provider } from '../enums';

/**
 * A one-time OAuth state. Only the SHA-256 of the state is stored; the state itself is 32 random
 * bytes that exist in the login URL and nowhere else.
 */
@Entity({ name: 'oauth_states' })
@Index('IDX_oauth_states_expires_at', ['expiresAt'])
@Check('CHK_oauth_states_provider', `"provider" IN (${sqlIn(PROVIDERS)})`)
export class OAuthStateEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Index('UQ_oauth_states_state_hash', { unique: true })
  @Column({ name: 'state_hash', type: 'text' })
  stateHash!: string;

  @Column({ type: 'text' })
  provider!: Provider;

  @Column({ name: 'user_id', type: 'text' })
  userId!: string;

  /** The PKCE verifier, sealed with a key derived from the state, so the row alone is useless. */
  @Column({ name: 'code_verifier_sealed', type: 'text' })
  codeVerifierSealed!: string;

  @Column({ name: 'redirect_to', type: 'text', nullable: true })
  redirectTo!: string | null;

  /** Flow facts that are not secret (e.g. the OVH region). */
  @Column({ type: 'jsonb', default: () => "'{}'" })
  context!: Record<string, unknown>;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'consumed_at', type: 'timestamptz', nullable: true })
  consumedAt!: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
