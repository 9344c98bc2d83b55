import { z } from 'zod';
import { type ConnectionView, presentConnection } from '../database/connection-view';
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

/**
 * The mapping itself lives in database/connection-view.ts, so the webhook outbox (below the
 * HTTP edge) sends exactly what GET /connections/:id answers. These two types must stay equal:
 * a field added to one and not the other fails to compile here.
 */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _schemaMatchesView: Same<z.output<typeof connectionView>, ConnectionView> = true;
void _schemaMatchesView;

export { type ConnectionView, presentConnection };
