import { z } from 'zod';
import { requestSchema } from '../openapi/contract';

/** POST /connections/claim. A code of the wrong shape is simply unknown: 404, not 400. */
export const claimBody = requestSchema(
  'ClaimRequest',
  z
    .object({
      claim: z
        .string()
        .min(1)
        .max(256)
        .describe('The one-time code of the callback redirect (`?status=claim&claim=…`)'),
    })
    .strict(),
);

export type ClaimBody = z.infer<typeof claimBody>;
