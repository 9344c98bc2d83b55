import { z } from 'zod';

/**
 * POST /tailscale/connect. `tailnet` is the API's path segment: `-` (the OAuth client's own
 * tailnet, the default), the organisation name (example.com) or the tailnet id.
 */
export const tailscaleConnectBody = z
  .object({
    client_id: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[A-Za-z0-9_-]+$/, 'must be a Tailscale OAuth client id'),
    client_secret: z.string().min(1).max(512),
    tailnet: z
      .string()
      .min(1)
      .max(253)
      .regex(/^(-|[A-Za-z0-9][A-Za-z0-9._@+-]*)$/, 'must be -, a tailnet name or a tailnet id')
      .default('-'),
  })
  .strict();

export type TailscaleConnectBody = z.infer<typeof tailscaleConnectBody>;
