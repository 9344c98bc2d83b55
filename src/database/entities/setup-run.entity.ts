import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import { SETUP_STATUSES, sqlIn, type SetupStatus, type SetupStepStatus } from '../enums';
import { ConnectionEntity } from './connection.entity';

export interface SetupStepState {
  name: string;
  status: SetupStepStatus;
  detail?: string;
  error_code?: string;
}

/** The post-connect setup of one connection: progress, per-step state and results. */
@Entity({ name: 'setup_runs' })
@Index('IDX_setup_runs_connection', ['connectionId', 'createdAt'])
@Check('CHK_setup_runs_status', `"status" IN (${sqlIn(SETUP_STATUSES)})`)
export class SetupRunEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'connection_id', type: 'uuid' })
  connectionId!: string;

  @ManyToOne(() => ConnectionEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'connection_id', foreignKeyConstraintName: 'FK_setup_runs_connection' })
  connection?: ConnectionEntity;

  @Column({ type: 'text', default: 'pending' })
  status!: SetupStatus;

  @Column({ type: 'integer', default: 0 })
  progress!: number;

  @Column({ name: 'current_step', type: 'text', nullable: true })
  currentStep!: string | null;

  @Column({ type: 'jsonb', default: () => "'[]'" })
  steps!: SetupStepState[];

  @Column({ type: 'jsonb', nullable: true })
  result!: Record<string, unknown> | null;

  @Column({ name: 'error_code', type: 'text', nullable: true })
  errorCode!: string | null;

  /** What the last retry asked for, as its provider's setup accepted it (GCP: `project_ids`). */
  @Column({ type: 'jsonb', nullable: true })
  inputs!: Record<string, unknown> | null;

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;
}
