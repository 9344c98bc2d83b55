import { z } from 'zod';
import { requestSchema } from '../../openapi/contract';

/** POST /gcp/login. No body at all is the same as `{}`. */
export const gcpLoginBody = requestSchema(
  'GcpLoginRequest',
  z
    .object({
      redirect_to: z
        .string()
        .min(1)
        .max(2048)
        .optional()
        .describe("Where the callback sends the browser; on FRONTEND_URL's or PUBLIC_URL's origin"),
    })
    .strict()
    .prefault({}),
);

export type GcpLoginBody = z.infer<typeof gcpLoginBody>;
