import { type ConnectionEntity } from './entities';
import { type ConnectionStatus, type Provider, type SetupStatus } from './enums';

/**
 * A connection as the API shows it (SPEC §4): metadata only, never a secret or the vault path.
 *
 * It lives here, beside the entity it maps, rather than in connections/ (the HTTP edge): the
 * webhook outbox (events/, below the engine) stores this very shape as an event's payload, and
 * the layering lets the engine import database/ but never the HTTP edge. connections/ keeps the
 * OpenAPI schema of the same shape and checks at compile time that the two agree.
 */
export interface ConnectionView {
  id: string;
  provider: Provider;
  account_ref: string;
  display_name: string | null;
  status: ConnectionStatus;
  setup_status: SetupStatus;
  scopes: string[];
  expires_at: string | null;
  last_refreshed_at: string | null;
  refresh_failures: number;
  last_error_code: string | null;
  metadata: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

export function presentConnection(c: ConnectionEntity): ConnectionView {
  return {
    id: c.id,
    provider: c.provider,
    account_ref: c.accountRef,
    display_name: c.displayName,
    status: c.status,
    setup_status: c.setupStatus,
    scopes: c.scopes,
    expires_at: c.expiresAt?.toISOString() ?? null,
    last_refreshed_at: c.lastRefreshedAt?.toISOString() ?? null,
    refresh_failures: c.refreshFailures,
    last_error_code: c.lastErrorCode,
    metadata: c.metadata,
    created_at: c.createdAt.toISOString(),
    updated_at: c.updatedAt.toISOString(),
  };
}
