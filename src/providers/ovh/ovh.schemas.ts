import { z } from 'zod';
import { OVH_REGIONS, type OvhRegion } from '../../config/config';
import { requestSchema } from '../../openapi/contract';

/** POST /ovh/login. */
export const ovhLoginBody = requestSchema(
  'OvhLoginRequest',
  z
    .object({
      region: z.enum(OVH_REGIONS as [OvhRegion, ...OvhRegion[]]),
      redirect_to: z
        .string()
        .min(1)
        .max(2048)
        .optional()
        .describe("Where the callback sends the browser; on FRONTEND_URL's or PUBLIC_URL's origin"),
    })
    .strict(),
);

export type OvhLoginBody = z.infer<typeof ovhLoginBody>;

/** What the state remembers besides the user: the region the login was made for. */
export const ovhStateContext = z.object({
  region: z.enum(OVH_REGIONS as [OvhRegion, ...OvhRegion[]]),
});
