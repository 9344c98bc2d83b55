import { z } from 'zod';
import { OVH_REGIONS, type OvhRegion } from '../../config/config';
import { requestSchema } from '../../openapi/contract';
import { redirectToField } from '../oauth/oauth-routes';

/** POST /ovh/login. */
export const ovhLoginBody = requestSchema(
  'OvhLoginRequest',
  z
    .object({
      region: z.enum(OVH_REGIONS as [OvhRegion, ...OvhRegion[]]),
      redirect_to: redirectToField,
    })
    .strict(),
);

export type OvhLoginBody = z.infer<typeof ovhLoginBody>;

/** What the state remembers besides the user: the region the login was made for. */
export const ovhStateContext = z.object({
  region: z.enum(OVH_REGIONS as [OvhRegion, ...OvhRegion[]]),
});
