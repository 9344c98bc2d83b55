import { z } from 'zod';
import { type ConnectionEntity } from '../database/entities';
import { CONNECTION_STATUSES, PROVIDERS, SETUP_STATUSES } from '../database/enums';
import { dateTimeString, responseSchema, uuidString } from '../openapi/contract';

/** A connection as the API shows it (SPEC §4): metadata only, never a secret or the vault path. */
export const connectionView = responseSchema(
  'Connection',
  z.object({
    id: uuidString,
    provider: z.enum(PROVIDERS),
    account_ref: z
      .string()
      .describe(
        'The upstream identity: GCP email, Azure <tenant>/<subscription>, Tailscale tailnet, OVH nichandle',
      ),
    display_name: z.string().nullable(),
    status: z.enum(CONNECTION_STATUSES),
    setup_status: z.enum(SETUP_STATUSES),
    scopes: z.array(z.string()),
    expires_at: dateTimeString.nullable(),
    last_refreshed_at: dateTimeString.nullable(),
    refresh_failures: z.number().int(),
    last_error_code: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()).describe('Provider facts worth showing (SPEC §4)'),
    created_at: dateTimeString,
    updated_at: dateTimeString,
  }),
);

export type ConnectionView = z.output<typeof connectionView>;

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
