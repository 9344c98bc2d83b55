import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/**
 * A client of the broker's authorization server (SPEC §11) that is not built in: registered by
 * an MCP client (RFC 7591, public: no secret) or by an admin (`cbk admin client create`, a
 * service client whose secret was printed once and is kept here as a SHA-256 only).
 */
@Entity({ name: 'oauth_clients' })
export class OAuthClientEntity {
  @PrimaryColumn({ name: 'client_id', type: 'text' })
  clientId!: string;

  /** `dynamic` (registered by the client itself) or `service` (made by an admin). */
  @Column({ type: 'text' })
  kind!: 'dynamic' | 'service';

  /** The client's registered metadata, as oidc-provider stores it, without any secret. */
  @Column({ type: 'jsonb' })
  metadata!: Record<string, unknown>;

  @Column({ name: 'secret_hash', type: 'text', nullable: true })
  secretHash!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
