import { z } from 'zod';
import { requestSchema } from '../../openapi/contract';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A tenant's verified domain (contoso.onmicrosoft.com, contoso.com): DNS labels, at least one dot. */
const TENANT_DOMAIN = /^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

const guid = (what: string) =>
  z
    .string()
    .regex(GUID, `must be a GUID (the ${what})`)
    .transform((v) => v.toLowerCase());

/**
 * POST /azure/login. The tenant may be named by its id or by a verified domain, as Entra ID
 * accepts both; `common`/`organizations` are refused because client credentials need one tenant.
 */
export const azureLoginBody = requestSchema(
  'AzureLoginRequest',
  z
    .object({
      tenant_id: z
        .string()
        .max(253)
        .refine((v) => GUID.test(v) || TENANT_DOMAIN.test(v), {
          message:
            'must be a tenant id (GUID) or a verified domain such as contoso.onmicrosoft.com',
        })
        .transform((v) => v.toLowerCase())
        .describe('Tenant id (GUID) or verified domain'),
      client_id: guid("app registration's application (client) id").describe(
        'Application (client) id',
      ),
      client_secret: z.string().min(1).max(1024).describe('Kept in the secret store only'),
      subscription_id: guid('subscription id')
        .optional()
        .describe('The subscription to connect; else the first Enabled one'),
    })
    .strict(),
);

export type AzureLoginBody = z.infer<typeof azureLoginBody>;
