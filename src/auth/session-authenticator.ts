import { BrokerError } from '../common/error-codes';
import { brokerOrigins } from '../common/redirect-target';
import { type AppConfig } from '../config/config';
import { isAdmin, isAllowed } from './allow-list';
import { type Caller } from './caller';
import { clearSessionCookie, readSessionCookie } from './session-cookie';
import { type SessionStore } from './sessions';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface SessionRequest {
  method: string;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * The session cookie as a caller (SPEC §3, §9), for the guard and the admin dashboard's hook.
 * A browser sends the cookie with any request to the broker, whoever made the page, so a request
 * that changes something must also come from the broker's own pages: its Origin must be
 * PUBLIC_URL's or FRONTEND_URL's (403 `csrf_rejected`). SameSite=Lax already keeps the cookie off
 * cross-site POSTs in current browsers; the Origin check does not depend on that.
 */
export class SessionAuthenticator {
  private readonly origins: string[];

  /** `sessions` null: sign-in is off (or a test module without Redis), cookies are ignored. */
  constructor(
    private readonly sessions: SessionStore | null,
    private readonly config: Pick<AppConfig, 'login' | 'publicUrl' | 'frontendUrl'>,
  ) {
    this.origins = sessions === null ? [] : brokerOrigins(config);
  }

  /** The session id of a request, when sign-in is on and it carries one. */
  sessionId(request: SessionRequest): string | undefined {
    if (this.sessions === null) return undefined;
    const header = request.headers.cookie;
    return readSessionCookie(typeof header === 'string' ? header : undefined, this.config.login);
  }

  /**
   * The caller of a request that carries a session cookie; null when it carries none. Throws 401
   * for an ended session (and clears the cookie), 403 `csrf_rejected`, 403 `login_not_allowed`
   * for a person no longer on the allow-list, 403 `forbidden` on an admin route for a non-admin.
   */
  async authenticate(
    request: SessionRequest,
    route: { adminOnly: boolean },
  ): Promise<Caller | null> {
    const id = this.sessionId(request);
    if (id === undefined || this.sessions === null) return null;
    if (!SAFE_METHODS.has(request.method.toUpperCase())) this.assertSameOrigin(request);
    const session = await this.sessions.resolve(id);
    if (session === null) {
      throw new BrokerError('unauthenticated', 'the session has ended; sign in again', {
        headers: { 'Set-Cookie': clearSessionCookie(this.config.login) },
      });
    }
    const identity = session.identity;
    if (!isAllowed(identity, this.config.login)) {
      throw new BrokerError(
        'login_not_allowed',
        'this account is no longer allowed to use the broker (LOGIN_ALLOWED_USERS / LOGIN_ALLOWED_DOMAINS)',
      );
    }
    if (route.adminOnly && !isAdmin(identity, this.config.login)) {
      throw new BrokerError('forbidden', 'this route is for admins only (ADMIN_USERS)');
    }
    return { kind: 'user', userId: identity.id, session: identity };
  }

  /**
   * The user of the live session a request carries, if any: no Origin check, no allow-list, no
   * error. For deciding whether a flow must ask the person to sign in again.
   */
  async sessionUser(request: Pick<SessionRequest, 'headers'>): Promise<string | undefined> {
    const id = this.sessionId({ method: 'GET', ...request });
    if (id === undefined || this.sessions === null) return undefined;
    return (await this.sessions.resolve(id))?.identity.id;
  }

  /** 403 `csrf_rejected` unless the request comes from PUBLIC_URL's or FRONTEND_URL's origin. */
  assertSameOrigin(request: SessionRequest): void {
    const origin = request.headers.origin;
    if (typeof origin === 'string' && this.origins.includes(origin)) return;
    throw new BrokerError(
      'csrf_rejected',
      origin === undefined
        ? 'a request made with the session cookie that changes something must carry an Origin header'
        : "the request's Origin is not the broker's (PUBLIC_URL) nor the frontend's (FRONTEND_URL)",
    );
  }
}
