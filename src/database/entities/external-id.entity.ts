import { Check, Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';
import { PROVIDERS, sqlIn, type Provider } from '../enums';

/**
 * An id the broker made for one user at one provider and names in every call it makes there for
 * that user (AWS: the `sts:ExternalId` a role's trust policy demands). Not a secret; made on
 * first use, unique, and never changed, since the user pastes it into the provider's policy.
 */
@Entity({ name: 'external_ids' })
@Check('CHK_external_ids_provider', `"provider" IN (${sqlIn(PROVIDERS)})`)
export class ExternalIdEntity {
  @PrimaryColumn({ name: 'user_id', type: 'text', primaryKeyConstraintName: 'PK_external_ids' })
  userId!: string;

  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'PK_external_ids' })
  provider!: Provider;

  @Index('UQ_external_ids_external_id', { unique: true })
  @Column({ name: 'external_id', type: 'text' })
  externalId!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
