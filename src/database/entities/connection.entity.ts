import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  PrimaryGeneratedColumn,
  Unique,
  UpdateDateColumn,
} from 'typeorm';
import {
  CONNECTION_STATUSES,
  PROVIDERS,
  SETUP_STATUSES,
  sqlIn,
  type ConnectionStatus,
  type Provider,
  type SetupStatus,
} from '../enums';

/**
 * A connected upstream account. Holds references and metadata only: the token set lives in the
 * secret store at `vault_path`, version `vault_version`.
 */
@Entity({ name: 'connections' })
@Unique('UQ_connections_owner_account', ['userId', 'provider', 'accountRef'])
@Index('IDX_connections_refresh_due', ['status', 'expiresAt'])
@Index('IDX_connections_user_list', ['userId', 'createdAt', 'id'])
@Check('CHK_connections_provider', `"provider" IN (${sqlIn(PROVIDERS)})`)
@Check('CHK_connections_status', `"status" IN (${sqlIn(CONNECTION_STATUSES)})`)
@Check('CHK_connections_setup_status', `"setup_status" IN (${sqlIn(SETUP_STATUSES)})`)
export class ConnectionEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'user_id', type: 'text' })
  userId!: string;

  @Column({ type: 'text' })
  provider!: Provider;

  @Column({ name: 'account_ref', type: 'text' })
  accountRef!: string;

  @Column({ name: 'display_name', type: 'text', nullable: true })
  displayName!: string | null;

  @Column({ type: 'text', default: 'active' })
  status!: ConnectionStatus;

  @Column({ name: 'setup_status', type: 'text', default: 'pending' })
  setupStatus!: SetupStatus;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  scopes!: string[];

  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt!: Date | null;

  @Column({ name: 'last_refreshed_at', type: 'timestamptz', nullable: true })
  lastRefreshedAt!: Date | null;

  @Column({ name: 'refresh_failures', type: 'integer', default: 0 })
  refreshFailures!: number;

  @Column({ name: 'last_error_code', type: 'text', nullable: true })
  lastErrorCode!: string | null;

  @Column({ name: 'next_attempt_at', type: 'timestamptz', default: () => 'now()' })
  nextAttemptAt!: Date;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  metadata!: Record<string, unknown>;

  @Column({ name: 'vault_path', type: 'text' })
  vaultPath!: string;

  @Column({ name: 'vault_version', type: 'integer' })
  vaultVersion!: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
