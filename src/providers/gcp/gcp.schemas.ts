import { z } from 'zod';

/** POST /gcp/login. No body at all is the same as `{}`. */
export const gcpLoginBody = z
  .object({ redirect_to: z.string().min(1).max(2048).optional() })
  .strict()
  .default({});

export type GcpLoginBody = z.infer<typeof gcpLoginBody>;
