import { type ExecutionContext, SetMetadata, createParamDecorator } from '@nestjs/common';
import { type ApiKeyScope } from '../database/enums';
import { type Caller } from './caller';
import { type AuthenticatedRequest } from './authenticated-request';

export const IS_PUBLIC_KEY = 'auth:public';
export const REQUIRED_SCOPES_KEY = 'auth:scopes';
export const ADMIN_ONLY_KEY = 'auth:admin-only';
export const ACTS_FOR_USER_KEY = 'auth:acts-for-user';
export const OPTIONAL_CALLER_KEY = 'auth:optional-caller';

/** Every metadata key the auth guard reads, for tests that enumerate routes with `Reflector`. */
export const AUTH_METADATA_KEYS = {
  isPublic: IS_PUBLIC_KEY,
  requiredScopes: REQUIRED_SCOPES_KEY,
  adminOnly: ADMIN_ONLY_KEY,
  actsForUser: ACTS_FOR_USER_KEY,
  optionalCaller: OPTIONAL_CALLER_KEY,
} as const;

export const ON_BEHALF_OF_HEADER = 'x-on-behalf-of';

/** The route needs no caller (health, metrics, provider callbacks). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC_KEY, true);

/**
 * The route answers anyone, and learns who is calling when it can: a valid session cookie or
 * bearer token puts the caller on the request (`@MaybeCaller()`), a missing or bad one is no error.
 * For the provider callbacks (a session there claims the consent at once) and the connect page.
 */
export const OptionalCaller = (): MethodDecorator & ClassDecorator =>
  SetMetadata(OPTIONAL_CALLER_KEY, true);

/**
 * The API-key scopes the route needs, all of them, instead of the default by HTTP method
 * (`connections:read` for GET/HEAD, `connections:write` otherwise). `admin` implies every scope.
 */
export const RequireScopes = (...scopes: ApiKeyScope[]): MethodDecorator & ClassDecorator =>
  SetMetadata(REQUIRED_SCOPES_KEY, scopes);

/** Only an API key with `admin`, or HTTP Basic admin credentials. Users are refused (403). */
export const AdminOnly = (): MethodDecorator & ClassDecorator => SetMetadata(ADMIN_ONLY_KEY, true);

/** The route acts for one user: an API key must name that user in `X-On-Behalf-Of`. */
export const ActsForUser = (): MethodDecorator & ClassDecorator =>
  SetMetadata(ACTS_FOR_USER_KEY, true);

/** The authenticated caller, as the auth guard put it on the request. */
export const CurrentCaller = createParamDecorator((_: unknown, ctx: ExecutionContext): Caller => {
  const caller = ctx.switchToHttp().getRequest<AuthenticatedRequest>().caller;
  // A programming error, not bad input: @CurrentCaller() on a @Public() route.
  if (caller === undefined) throw new Error('@CurrentCaller() used on a route without a caller');
  return caller;
});

/** The caller on an `@OptionalCaller()` route, or undefined when nobody (valid) is calling. */
export const MaybeCaller = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): Caller | undefined =>
    ctx.switchToHttp().getRequest<AuthenticatedRequest>().caller,
);
