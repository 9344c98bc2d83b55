import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Inject, Optional } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { BrokerError } from '../common/error-codes';
import { type ApiKeyScope } from '../database/enums';
import { AdminAuthenticator, ADMIN_BASIC_CHALLENGE } from './admin-authenticator';
import { ApiKeysService, apiKeyCaller } from './api-keys.service';
import { AuthFailureAudit } from './auth-failure-audit';
import { AuthFailureLimiter } from './auth-failure-limiter';
import { type AuthenticatedRequest } from './authenticated-request';
import { type PresentedCredentials, parseAuthorization } from './authorization-header';
import { type Caller } from './caller';
import {
  ACTS_FOR_USER_KEY,
  ADMIN_ONLY_KEY,
  IS_PUBLIC_KEY,
  ON_BEHALF_OF_HEADER,
  OPTIONAL_CALLER_KEY,
  REQUIRED_SCOPES_KEY,
} from './decorators';
import { JwtVerifier } from './jwt-verifier';
import { defaultScopesFor, grantsScopes } from './scope-rules';
import { SessionAuthenticator } from './session-authenticator';
import { BrokerTokenVerifier } from './broker-tokens';

interface RouteAuth {
  adminOnly: boolean;
  actsForUser: boolean;
  scopes: readonly ApiKeyScope[];
}

/** What a route's decorators say about its callers (scopes absent: the method's default). */
interface RouteMetadata {
  isPublic: boolean;
  optionalCaller: boolean;
  adminOnly: boolean;
  actsForUser: boolean;
  scopes: readonly ApiKeyScope[] | undefined;
}

/** 1-256 visible ASCII characters: safe to log, to compare and to store as an owner id. */
const ON_BEHALF_OF = /^[\x21-\x7e]{1,256}$/;

/**
 * The global guard: every route needs a caller unless `@Public()`. Authenticates, then
 * authorises by route metadata (SPEC §3), and leaves the caller on `request.caller`.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly routes = new WeakMap<object, WeakMap<object, RouteMetadata>>();

  constructor(
    private readonly reflector: Reflector,
    private readonly jwt: JwtVerifier,
    private readonly apiKeys: ApiKeysService,
    private readonly admin: AdminAuthenticator,
    private readonly failures: AuthFailureAudit,
    private readonly sessions: SessionAuthenticator,
    private readonly brokerTokens: BrokerTokenVerifier,
    /** Absent in unit tests that do not exercise the per-address limit. */
    // `@Inject`: a `| null` type is emitted as Object, which Nest cannot resolve by itself.
    @Optional() @Inject(AuthFailureLimiter) private readonly limiter?: AuthFailureLimiter | null,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const metadata = this.metadataOf(context);
    if (metadata.isPublic) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    if (metadata.optionalCaller) {
      request.caller = await this.optionalCaller(request);
      return true;
    }
    const route: RouteAuth = {
      adminOnly: metadata.adminOnly,
      actsForUser: metadata.actsForUser,
      scopes: metadata.scopes ?? defaultScopesFor(request.method),
    };
    const presented = parseAuthorization(request.headers.authorization);
    if (presented === null) {
      // No bearer: a person's session cookie, if any (a bearer always wins over a cookie).
      const caller = await this.sessions.authenticate(request, route);
      if (caller === null) throw unauthenticated(route, 'credentials are required');
      request.caller = caller;
      return true;
    }
    // An address that failed too often this minute is refused before its credentials cost a
    // lookup, a hash check or an audit row; its failures are counted once they happen.
    const source = request.ip;
    await this.limiter?.assertAllowed(source);
    try {
      request.caller = await this.authenticate(presented, route, request);
    } catch (err) {
      if (err instanceof BrokerError && err.code === 'unauthenticated') {
        await this.limiter?.recordFailure(source);
      }
      throw err;
    }
    return true;
  }

  /**
   * The route's decorators, read once per handler: they are fixed when the class is defined, and
   * reading them per request (Reflect metadata over handler and class, five keys) was a
   * measurable share of a token read (bench/, token read).
   */
  private metadataOf(context: ExecutionContext): RouteMetadata {
    const handler = context.getHandler();
    const controller = context.getClass();
    // By class and handler: a subclass shares its parent's handlers but not its decorators.
    let ofClass = this.routes.get(controller);
    if (!ofClass) this.routes.set(controller, (ofClass = new WeakMap()));
    const known = ofClass.get(handler);
    if (known) return known;
    const targets = [handler, controller];
    const flag = (key: string) =>
      this.reflector.getAllAndOverride<boolean | undefined>(key, targets) === true;
    const metadata: RouteMetadata = {
      isPublic: flag(IS_PUBLIC_KEY),
      optionalCaller: flag(OPTIONAL_CALLER_KEY),
      adminOnly: flag(ADMIN_ONLY_KEY),
      actsForUser: flag(ACTS_FOR_USER_KEY),
      scopes: this.reflector.getAllAndOverride<ApiKeyScope[] | undefined>(
        REQUIRED_SCOPES_KEY,
        targets,
      ),
    };
    ofClass.set(handler, metadata);
    return metadata;
  }

  /**
   * What a JWT verifier's refusal becomes: counted in the failure audit under `auditReason`, then
   * a 401 with the verifier's own reason. Anything else (keys unavailable) goes through as it is.
   */
  private jwtRejected(
    route: RouteAuth,
    request: AuthenticatedRequest,
    auditReason: string,
  ): (err: unknown) => never {
    return (err) => {
      if (err instanceof BrokerError && err.code === 'unauthenticated') {
        this.failures.record(
          { method: 'jwt', errorCode: 'unauthenticated', reason: auditReason },
          request.ip,
        );
        throw unauthenticated(route, err.detail ?? 'token is not valid');
      }
      throw err;
    };
  }

  /** An access token of the broker's own authorization server, for the API's audience. */
  private async brokerTokenCaller(
    token: string,
    route: RouteAuth,
    request: AuthenticatedRequest,
  ): Promise<Caller> {
    const claims = await this.brokerTokens
      .verify(token, this.brokerTokens.issuer)
      .catch(this.jwtRejected(route, request, 'broker token is not valid'));
    if (route.adminOnly) throw new BrokerError('forbidden', 'this route is for admins only');
    if (!grantsScopes(claims.scopes, route.scopes)) {
      throw new BrokerError(
        'forbidden',
        `this token needs the scope ${route.scopes.join(' and ')}`,
      );
    }
    return {
      kind: 'user',
      userId: claims.userId,
      oauth: { clientId: claims.clientId, scopes: claims.scopes },
    };
  }

  /**
   * `@OptionalCaller()` routes: whoever a valid bearer or session says is calling, else nobody.
   * Nothing is refused and no failure is counted; a dependency outage still answers 503.
   */
  private async optionalCaller(request: AuthenticatedRequest): Promise<Caller | undefined> {
    const route: RouteAuth = { adminOnly: false, actsForUser: false, scopes: [] };
    const presented = parseAuthorization(request.headers.authorization);
    try {
      if (presented === null)
        return (await this.sessions.authenticate(request, route)) ?? undefined;
      return await this.authenticate(presented, route, request);
    } catch (err) {
      if (err instanceof BrokerError && err.status < 500) {
        request.callerRefused = err.code;
        return undefined;
      }
      throw err;
    }
  }

  private async authenticate(
    presented: PresentedCredentials,
    route: RouteAuth,
    request: AuthenticatedRequest,
  ): Promise<Caller> {
    switch (presented.scheme) {
      case 'jwt': {
        // A user JWT verified before comes from the verifier's cache ahead of the decode that
        // tells the broker's own tokens from the identity provider's: on a token read that
        // decode cost as much as the rest of the authentication (bench/, token read). Only
        // tokens that did not claim to be ours were ever verified there, so the answer is the
        // same.
        const known = this.jwt.cached(presented.token);
        if (!known && this.brokerTokens.claimsToBeOurs(presented.token)) {
          return this.brokerTokenCaller(presented.token, route, request);
        }
        const { userId } =
          known ??
          (await this.jwt
            .verify(presented.token)
            .catch(this.jwtRejected(route, request, 'token is not valid')));
        if (route.adminOnly) throw new BrokerError('forbidden', 'this route is for admins only');
        return { kind: 'user', userId };
      }
      case 'api_key': {
        const key = await this.apiKeys.authenticate(presented.key);
        if (key === null) {
          this.failures.recordRejectedApiKey(presented.key, request.ip);
          throw unauthenticated(route, 'the API key is not valid');
        }
        const required: readonly ApiKeyScope[] = route.adminOnly ? ['admin'] : route.scopes;
        if (!grantsScopes(key.scopes, required)) {
          throw new BrokerError(
            'forbidden',
            `this route needs the scope ${required.join(' and ')}`,
          );
        }
        return apiKeyCaller(key, onBehalfOf(request, route));
      }
      case 'basic': {
        // Basic is for a browser opening admin pages; elsewhere it is not even checked.
        if (!route.adminOnly) throw unauthenticated(route, 'use a bearer token');
        const caller = await this.admin.verifyBasic(presented.encoded, request.ip);
        if (caller === null) throw unauthenticated(route, 'admin credentials are not valid');
        return caller;
      }
    }
  }
}

function unauthenticated(route: RouteAuth, reason: string): BrokerError {
  const challenge = route.adminOnly ? `Bearer, ${ADMIN_BASIC_CHALLENGE}` : 'Bearer';
  return new BrokerError('unauthenticated', reason, { headers: { 'WWW-Authenticate': challenge } });
}

/** The user an API key acts for: required on `@ActsForUser()` routes, checked wherever sent. */
function onBehalfOf(request: AuthenticatedRequest, route: RouteAuth): string | undefined {
  const value = request.headers[ON_BEHALF_OF_HEADER];
  if (value === undefined) {
    if (!route.actsForUser) return undefined;
    throw new BrokerError(
      'validation_failed',
      'X-On-Behalf-Of is required when an API key calls this route',
      { errors: [{ path: 'headers.x-on-behalf-of', message: 'is required' }] },
    );
  }
  if (typeof value !== 'string' || !ON_BEHALF_OF.test(value)) {
    throw new BrokerError(
      'validation_failed',
      'X-On-Behalf-Of must be 1-256 visible ASCII characters',
      {
        errors: [
          { path: 'headers.x-on-behalf-of', message: 'must be 1-256 visible ASCII characters' },
        ],
      },
    );
  }
  return value;
}
