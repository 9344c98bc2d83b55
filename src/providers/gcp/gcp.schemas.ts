import { z } from 'zod';
import { requestSchema } from '../../openapi/contract';
import { redirectToField } from '../oauth/oauth-routes';

/** POST /gcp/login. No body at all is the same as `{}`. */
export const gcpLoginBody = requestSchema(
  'GcpLoginRequest',
  z
    .object({
      redirect_to: redirectToField,
    })
    .strict()
    .prefault({}),
);

export type GcpLoginBody = z.infer<typeof gcpLoginBody>;
