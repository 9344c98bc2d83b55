import { type ConnectionEntity } from '../entities';

/**
 * A `connections` row as Postgres returns it, for the hand-written statements on hot paths
 * (token reads, refreshes), where TypeORM's query builder cost more than the query.
 */
export interface ConnectionRow {
  id: string;
  user_id: string;
  provider: ConnectionEntity['provider'];
  account_ref: string;
  display_name: string | null;
  status: ConnectionEntity['status'];
  setup_status: ConnectionEntity['setupStatus'];
  scopes: string[];
  expires_at: Date | null;
  last_refreshed_at: Date | null;
  refresh_failures: number;
  last_error_code: string | null;
  next_attempt_at: Date;
  metadata: Record<string, unknown>;
  vault_path: string;
  vault_version: number;
  created_at: Date;
  updated_at: Date;
}

export const ROW_COLUMNS =
  'id, user_id, provider, account_ref, display_name, status, setup_status, scopes, expires_at, ' +
  'last_refreshed_at, refresh_failures, last_error_code, next_attempt_at, metadata, vault_path, ' +
  'vault_version, created_at, updated_at';

export function fromRow(r: ConnectionRow): Partial<ConnectionEntity> {
  return {
    id: r.id,
    userId: r.user_id,
    provider: r.provider,
    accountRef: r.account_ref,
    displayName: r.display_name,
    status: r.status,
    setupStatus: r.setup_status,
    scopes: r.scopes,
    expiresAt: r.expires_at,
    lastRefreshedAt: r.last_refreshed_at,
    refreshFailures: r.refresh_failures,
    lastErrorCode: r.last_error_code,
    nextAttemptAt: r.next_attempt_at,
    metadata: r.metadata,
    vaultPath: r.vault_path,
    vaultVersion: r.vault_version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
