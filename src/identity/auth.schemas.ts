import { z } from 'zod';
import { responseSchema } from '../openapi/contract';
import { LOGIN_PROVIDER_KINDS } from '../config/env.schema';

export const loginQuery = z.strictObject({
  provider: z.enum(LOGIN_PROVIDER_KINDS).describe('Which identity provider to sign in with'),
  redirect_to: z
    .string()
    .min(1)
    .max(2048)
    .optional()
    .describe(
      "Where to land after sign-in: a path, or a URL on PUBLIC_URL's or FRONTEND_URL's origin",
    ),
  rd: z
    .string()
    .min(1)
    .max(2048)
    .optional()
    .describe('The same as redirect_to, under the name ingress-nginx and oauth2-proxy use'),
});

export type LoginQuery = z.output<typeof loginQuery>;

export const callerView = responseSchema(
  'AuthUser',
  z.object({
    id: z
      .string()
      .describe('The user id: github:<id>, entra:<tid>:<oid>, oidc:<sub>, or a JWT sub'),
    email: z.string().nullable(),
    name: z.string().nullable(),
    username: z.string().nullable().describe('GitHub login or preferred_username'),
    provider: z
      .string()
      .describe('github, entra or oidc for a session; jwt or api_key for a bearer token'),
  }),
);

export const authStatusView = responseSchema(
  'AuthStatus',
  z.object({
    enabled: z.boolean().describe('Whether sign-in (LOGIN_PROVIDERS) is on'),
    providers: z.array(z.enum(LOGIN_PROVIDER_KINDS)),
    authenticated: z.boolean(),
    user: callerView.optional(),
  }),
);

export type AuthStatusView = z.output<typeof authStatusView>;
