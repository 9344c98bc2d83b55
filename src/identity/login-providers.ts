import * as oidc from 'openid-client';
import { type SessionIdentity } from '../auth/caller';
import { type LoginProviderConfig, type LoginProviderKind } from '../config/config';

/** The part of a sign-in that differs per identity provider. */
export interface LoginProvider {
  readonly kind: LoginProviderKind;
  /** For the button: "Sign in with …". */
  readonly label: string;
  /** Where to send the browser: the provider's authorize endpoint with state, PKCE and nonce. */
  authorizationUrl(input: {
    redirectUri: string;
    state: string;
    codeVerifier: string;
    nonce: string;
  }): Promise<URL>;
  /**
   * Exchanges the callback's code (checking state, PKCE, and for OIDC the id_token's signature,
   * `iss`, `aud`, `exp` and `nonce`) and reads who signed in. Throws {@link SignInFailure}.
   */
  identify(input: {
    /** The callback as PUBLIC_URL names it: its URL without the query is the redirect_uri. */
    callbackUrl: URL;
    state: string;
    codeVerifier: string;
    nonce: string;
  }): Promise<SessionIdentity>;
}

export type SignInFailureCode =
  'access_denied' | 'exchange_failed' | 'identity_failed' | 'provider_unavailable';

/** A sign-in that cannot complete; `reason` is for the log (never a token or a secret). */
export class SignInFailure extends Error {
  constructor(
    readonly code: SignInFailureCode,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${reason}`, options);
    this.name = 'SignInFailure';
  }
}

const TIMEOUT_SECONDS = 10;

/** openid-client refuses http:// endpoints unless told; only emulators and labs use them. */
function insecureIfHttp(url: string): ((config: oidc.Configuration) => void)[] {
  return url.startsWith('http://') ? [oidc.allowInsecureRequests] : [];
}

/**
 * The provider's answer at the callback, as openid-client reports it: the user declined
 * (`error=access_denied`), or anything else that stops the exchange.
 */
function exchangeFailure(upstream: string, err: unknown): SignInFailure {
  if (err instanceof oidc.AuthorizationResponseError) {
    return err.error === 'access_denied'
      ? new SignInFailure('access_denied', `${upstream}: the person declined`)
      : new SignInFailure('exchange_failed', `${upstream} error=${safeWord(err.error)}`);
  }
  if (err instanceof oidc.ResponseBodyError) {
    return new SignInFailure(
      'exchange_failed',
      `${upstream} token endpoint: ${safeWord(err.error)}`,
    );
  }
  if (err instanceof oidc.ClientError) {
    // openid-client's own checks (state, iss, id_token claims, nonce, a body with no token):
    // its messages name the check, never a value. GitHub answers token errors with HTTP 200,
    // which openid-client reports as a body without access_token; the OAuth error word it
    // carried (incorrect_client_credentials: a wrong GITHUB_CLIENT_SECRET) is what an operator
    // needs to read in the log.
    const said = oauthErrorInBody(err);
    return new SignInFailure(
      'exchange_failed',
      said ? `${upstream} token endpoint: ${said}` : `${upstream}: ${err.message}`,
    );
  }
  return new SignInFailure(
    'exchange_failed',
    `${upstream}: the token endpoint could not be reached`,
    {
      cause: err,
    },
  );
}

/** The `error` of a 200 answer openid-client refused (its cause's cause holds the body). */
function oauthErrorInBody(err: Error): string | undefined {
  const body: unknown = (err.cause as { cause?: { body?: unknown } } | undefined)?.cause?.body;
  const word = body && typeof body === 'object' ? (body as { error?: unknown }).error : undefined;
  return word === undefined ? undefined : safeWord(word);
}

function safeWord(value: unknown): string {
  return typeof value === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(value) ? value : 'unrecognised';
}

/**
 * GitHub: OAuth 2.0 without OIDC (an OAuth app). openid-client drives the code exchange with
 * PKCE and state; GitHub answers token errors with HTTP 200 and `{ error }`, which openid-client
 * refuses as a response without `access_token` — an `exchange_failed`, not a success. The
 * identity is `GET /user` plus the primary verified address of `GET /user/emails`.
 */
class GithubLogin implements LoginProvider {
  readonly kind = 'github';
  readonly label = 'GitHub';
  private readonly config: oidc.Configuration;

  constructor(private readonly settings: Extract<LoginProviderConfig, { kind: 'github' }>) {
    this.config = new oidc.Configuration(
      {
        issuer: settings.url,
        authorization_endpoint: `${settings.url}/login/oauth/authorize`,
        token_endpoint: `${settings.url}/login/oauth/access_token`,
      },
      settings.clientId,
      settings.clientSecret,
    );
    this.config.timeout = TIMEOUT_SECONDS;
    for (const apply of insecureIfHttp(settings.url)) apply(this.config);
  }

  authorizationUrl(input: {
    redirectUri: string;
    state: string;
    codeVerifier: string;
  }): Promise<URL> {
    return challengeUrl(this.config, input, { scope: 'read:user user:email' });
  }

  async identify(input: {
    callbackUrl: URL;
    state: string;
    codeVerifier: string;
  }): Promise<SessionIdentity> {
    const tokens = await oidc
      .authorizationCodeGrant(this.config, input.callbackUrl, {
        pkceCodeVerifier: input.codeVerifier,
        expectedState: input.state,
      })
      .catch((err: unknown) => {
        throw exchangeFailure('github', err);
      });
    const user = await this.api<{ id?: unknown; login?: unknown; name?: unknown }>(
      '/user',
      tokens.access_token,
    );
    if (typeof user.id !== 'number' || typeof user.login !== 'string') {
      throw new SignInFailure('identity_failed', 'github /user has no numeric id and login');
    }
    const emails = await this.api<unknown>('/user/emails', tokens.access_token);
    const primary = Array.isArray(emails)
      ? (emails as { email?: unknown; primary?: unknown; verified?: unknown }[]).find(
          (e) => e.primary === true && e.verified === true && typeof e.email === 'string',
        )
      : undefined;
    return {
      id: `github:${user.id}`,
      provider: 'github',
      email: primary ? (primary.email as string) : null,
      emailVerified: primary !== undefined,
      name: typeof user.name === 'string' ? user.name : null,
      username: user.login,
    };
  }

  private async api<T>(path: string, token: string): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.settings.apiUrl}${path}`, {
        headers: {
          accept: 'application/vnd.github+json',
          authorization: `Bearer ${token}`,
          'x-github-api-version': '2022-11-28',
        },
        signal: AbortSignal.timeout(TIMEOUT_SECONDS * 1000),
      });
    } catch (err) {
      throw new SignInFailure('identity_failed', `github ${path} could not be reached`, {
        cause: err,
      });
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new SignInFailure('identity_failed', `github ${path} answered ${res.status}`);
    }
    return (await res.json().catch(() => {
      throw new SignInFailure('identity_failed', `github ${path} answered something not JSON`);
    })) as T;
  }
}

/**
 * OpenID Connect (any issuer, and Entra ID): discovery once (retried after a failure), code +
 * PKCE + nonce, the id_token checked by openid-client. What makes an identity differs: Entra's
 * tokens carry `tid`/`oid` and no `email_verified`.
 */
class OidcLogin implements LoginProvider {
  private configuration?: Promise<oidc.Configuration>;

  constructor(
    readonly kind: 'oidc' | 'entra',
    readonly label: string,
    private readonly issuer: string,
    private readonly client: { clientId: string; clientSecret: string },
    private readonly scopes: string[],
    private readonly toIdentity: (claims: oidc.IDToken) => SessionIdentity,
  ) {}

  async authorizationUrl(input: {
    redirectUri: string;
    state: string;
    codeVerifier: string;
    nonce: string;
  }): Promise<URL> {
    const config = await this.discovered();
    return challengeUrl(config, input, { scope: this.scopes.join(' '), nonce: input.nonce });
  }

  async identify(input: {
    callbackUrl: URL;
    state: string;
    codeVerifier: string;
    nonce: string;
  }): Promise<SessionIdentity> {
    const config = await this.discovered();
    const tokens = await oidc
      .authorizationCodeGrant(config, input.callbackUrl, {
        pkceCodeVerifier: input.codeVerifier,
        expectedState: input.state,
        expectedNonce: input.nonce,
        idTokenExpected: true,
      })
      .catch((err: unknown) => {
        throw exchangeFailure(this.kind, err);
      });
    const claims = tokens.claims();
    if (claims === undefined) throw new SignInFailure('identity_failed', 'no id_token claims');
    return this.toIdentity(claims);
  }

  private discovered(): Promise<oidc.Configuration> {
    this.configuration ??= oidc
      .discovery(
        new URL(this.issuer),
        this.client.clientId,
        undefined,
        oidc.ClientSecretBasic(this.client.clientSecret),
        { execute: insecureIfHttp(this.issuer), timeout: TIMEOUT_SECONDS },
      )
      .catch((err: unknown) => {
        this.configuration = undefined;
        throw new SignInFailure(
          'provider_unavailable',
          `${this.kind}: discovery of ${this.issuer} failed`,
          { cause: err },
        );
      });
    return this.configuration;
  }
}

async function challengeUrl(
  config: oidc.Configuration,
  input: { redirectUri: string; state: string; codeVerifier: string },
  extra: Record<string, string>,
): Promise<URL> {
  return oidc.buildAuthorizationUrl(config, {
    redirect_uri: input.redirectUri,
    response_type: 'code',
    state: input.state,
    code_challenge: await oidc.calculatePKCECodeChallenge(input.codeVerifier),
    code_challenge_method: 'S256',
    ...extra,
  });
}

const str = (value: unknown): string | null =>
  typeof value === 'string' && value.length > 0 ? value : null;

function oidcIdentity(claims: oidc.IDToken): SessionIdentity {
  return {
    id: `oidc:${claims.sub}`,
    provider: 'oidc',
    email: str(claims.email),
    emailVerified: claims.email_verified === true,
    name: str(claims.name),
    username: str(claims.preferred_username),
  };
}

/**
 * Entra ID tokens carry no `email_verified`; SPEC §9 takes the `email` claim, else
 * `preferred_username`, of a token from the configured tenant (the issuer check already pinned
 * the tenant: the discovered issuer names it) as the verified address.
 */
function entraIdentity(claims: oidc.IDToken): SessionIdentity {
  const tid = str(claims.tid);
  const oid = str(claims.oid);
  if (tid === null || oid === null || !claims.iss.includes(`/${tid}/`)) {
    throw new SignInFailure('identity_failed', 'entra id_token without the tenant (tid) or oid');
  }
  const email = str(claims.email) ?? str(claims.preferred_username);
  return {
    id: `entra:${tid}:${oid}`,
    provider: 'entra',
    email,
    emailVerified: email !== null && email.includes('@'),
    name: str(claims.name),
    username: str(claims.preferred_username),
  };
}

export function createLoginProvider(settings: LoginProviderConfig): LoginProvider {
  switch (settings.kind) {
    case 'github':
      return new GithubLogin(settings);
    case 'entra':
      return new OidcLogin(
        'entra',
        'Microsoft',
        `${settings.authority}/${settings.tenantId}/v2.0`,
        settings,
        ['openid', 'email', 'profile'],
        entraIdentity,
      );
    case 'oidc':
      return new OidcLogin(
        'oidc',
        'single sign-on',
        settings.issuer,
        settings,
        settings.scopes,
        oidcIdentity,
      );
  }
}
