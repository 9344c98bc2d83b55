import { z } from 'zod';
import { dateTimeString, requestSchema, responseSchema, uuidString } from '../../openapi/contract';

/**
 * POST /tailscale/connect. `tailnet` is the API's path segment: `-` (the OAuth client's own
 * tailnet, the default), the organisation name (example.com) or the tailnet id.
 */
export const tailscaleConnectBody = requestSchema(
  'TailscaleConnectRequest',
  z
    .object({
      client_id: z
        .string()
        .min(1)
        .max(128)
        .regex(/^[A-Za-z0-9_-]+$/, 'must be a Tailscale OAuth client id')
        .describe('OAuth client id'),
      client_secret: z
        .string()
        .min(1)
        .max(512)
        .describe('tskey-client-…; kept in the secret store only'),
      tailnet: z
        .string()
        .min(1)
        .max(253)
        .regex(/^(-|[A-Za-z0-9][A-Za-z0-9._@+-]*)$/, 'must be -, a tailnet name or a tailnet id')
        .default('-')
        .describe("`-` (the client's tailnet) or its name"),
    })
    .strict(),
);

/** POST /tailscale/refresh-token. No body at all is the same as `{}`. */
export const tailscaleRefreshBody = requestSchema(
  'TailscaleRefreshRequest',
  z
    .object({
      connection_id: z
        .guid('must be a connection id')
        .optional()
        .describe('Optional when the user has exactly one Tailscale connection'),
    })
    .strict()
    .prefault({}),
);

export type TailscaleRefreshBody = z.infer<typeof tailscaleRefreshBody>;

export const tailscaleRefreshView = responseSchema(
  'TailscaleRefresh',
  z.object({ connection_id: uuidString, expires_at: dateTimeString.nullable() }),
);

export type TailscaleRefreshView = z.output<typeof tailscaleRefreshView>;

export type TailscaleConnectBody = z.infer<typeof tailscaleConnectBody>;
