import { BrokerError } from '../common/error-codes';
import { type LoginProviderKind } from '../config/config';
import { type ApiKeyScope } from '../database/enums';
import { grantsScopes } from './scope-rules';

/** The person behind a broker session (SPEC §9), as the identity provider described them. */
export interface SessionIdentity {
  /** `github:<numeric id>`, `entra:<tid>:<oid>` or `oidc:<sub>`: the session's user id. */
  id: string;
  provider: LoginProviderKind;
  email: string | null;
  /** Whether the identity provider vouched for `email` (only verified emails match domains). */
  emailVerified: boolean;
  name: string | null;
  /** GitHub login, Entra `preferred_username`, OIDC `preferred_username`. */
  username: string | null;
}

/** Who is calling. Set on the request by the global auth guard; read with `@CurrentCaller()`. */
export type Caller =
  | {
      kind: 'user';
      userId: string;
      /** Set when the caller came with the session cookie rather than a bearer token. */
      session?: SessionIdentity;
      /**
       * Set for an access token of the broker's own authorization server (SPEC §11): its
       * `scope` limits it like an API key's scopes, and `clientId` says which client holds it.
       */
      oauth?: { clientId: string; scopes: readonly ApiKeyScope[] };
    }
  | {
      kind: 'api_key';
      keyId: string;
      keyName: string;
      scopes: readonly ApiKeyScope[];
      /** The user named by `X-On-Behalf-Of`, when the key sent one. */
      onBehalfOf?: string;
    }
  | { kind: 'admin_basic'; user: string };

/**
 * Owner scoping: `userId` is the user the call acts for. A user acts for themself; an API key acts
 * across users (`userId` undefined) unless it named one in X-On-Behalf-Of.
 */
export function actingUserId(caller: Caller): string | undefined {
  switch (caller.kind) {
    case 'user':
      return caller.userId;
    case 'api_key':
      return caller.onBehalfOf;
    case 'admin_basic':
      return undefined;
  }
}

/**
 * The user a user-scoped route (login, connect) acts for. @ActsForUser() already makes API keys
 * name one; only an admin Basic session can arrive without a user, and it may not act for one.
 */
export function requireActingUser(caller: Caller): string {
  const userId = actingUserId(caller);
  if (userId === undefined) throw new BrokerError('forbidden', 'This route acts for one user');
  return userId;
}

/** For audit rows. */
export function callerActor(caller: Caller): {
  actorType: 'user' | 'api_key' | 'admin';
  actorId: string;
} {
  switch (caller.kind) {
    case 'user':
      return { actorType: 'user', actorId: caller.userId };
    case 'api_key':
      return { actorType: 'api_key', actorId: caller.keyId };
    case 'admin_basic':
      return { actorType: 'admin', actorId: caller.user };
  }
}

/** The user of a caller that came with the broker session cookie (not a bearer token). */
export function sessionUserId(caller: Caller | undefined): string | undefined {
  return caller?.kind === 'user' && caller.session !== undefined ? caller.userId : undefined;
}

/**
 * Whether the caller holds `scope`: a person (JWT or session) holds every scope over their own
 * connections; an API key or a broker token only those it carries. For routes that show more
 * to some callers than to others (an SSH private key beside its public half).
 */
export function callerHasScope(caller: Caller, scope: ApiKeyScope): boolean {
  switch (caller.kind) {
    case 'user':
      return caller.oauth === undefined || grantsScopes(caller.oauth.scopes, [scope]);
    case 'api_key':
      return grantsScopes(caller.scopes, [scope]);
    case 'admin_basic':
      return false;
  }
}
