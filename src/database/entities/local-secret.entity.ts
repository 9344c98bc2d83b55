import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/**
 * One version of a secret kept by the `local` secret store: AES-256-GCM ciphertext (with its tag)
 * and the per-write nonce. The path is bound as associated data, so a row moved elsewhere fails to
 * decrypt.
 */
@Entity({ name: 'local_secrets' })
export class LocalSecretEntity {
  @PrimaryColumn({ type: 'text' })
  path!: string;

  @PrimaryColumn({ type: 'integer' })
  version!: number;

  @Column({ type: 'bytea' })
  nonce!: Buffer;

  @Column({ type: 'bytea' })
  ciphertext!: Buffer;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
