import { Inject, Injectable, Optional } from '@nestjs/common';
import { type OAuth2Client, type OAuth2ClientOptions } from 'google-auth-library';
import { z } from 'zod';
import { undiciFetch } from '../../common/undici-fetch';
import { APP_CONFIG, type AppConfig } from '../../config/config';
import { ProviderError } from '../provider';
import { classifyGoogleError } from './gcp-errors';

/**
 * Google's token endpoint answer (authorization_code and refresh_token grants). The SDK replaces
 * `expires_in` by an absolute `expiry_date` (ms) in place, so that is what is read here.
 */
const tokenResponse = z
  .object({
    access_token: z.string().min(1),
    expiry_date: z.number().positive(),
    scope: z.string().optional(),
    token_type: z.string().min(1).default('Bearer'),
    refresh_token: z.string().min(1).optional(),
  })
  .transform((t) => ({
    accessToken: t.access_token,
    expiresAt: new Date(t.expiry_date),
    scopes: t.scope === undefined ? undefined : t.scope.split(' ').filter(Boolean),
    tokenType: t.token_type,
    refreshToken: t.refresh_token,
  }));
/** A token answer, parsed. It holds secrets: keep it in memory only. */
export type GoogleTokens = z.infer<typeof tokenResponse>;

/** The OpenID Connect userinfo answer; only what the broker uses. */
const userinfoResponse = z.object({
  sub: z.string().min(1),
  email: z.string().min(3),
});
export type GoogleUser = z.infer<typeof userinfoResponse>;

/**
 * google-auth-library, loaded on first use rather than with this module, so a process where
 * GCP is not enabled never loads it (nor gaxios' share of it).
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const googleAuth = () => require('google-auth-library') as typeof import('google-auth-library');

/** google-auth-library's refresh is protected: this exposes one uncached refresh_token grant. */
function defineBrokerOAuth2Client() {
  return class BrokerOAuth2Client extends googleAuth().OAuth2Client {
    refreshGrant(refreshToken: string) {
      return this.refreshTokenNoCache(refreshToken);
    }
  };
}
type BrokerOAuth2Client = InstanceType<ReturnType<typeof defineBrokerOAuth2Client>>;
let BrokerOAuth2ClientClass: ReturnType<typeof defineBrokerOAuth2Client> | undefined;

/**
 * Per call. A refresh makes at most two calls (one retry of a 429/5xx or a lost connection:
 * the broker's own backoff is the retry policy), which stays under the refresh deadline; a hung
 * code exchange is not retried, so a callback gives up within this.
 */
export const DEFAULT_GOOGLE_TIMEOUT_MS = 8_000;
const ONE_RETRY = { retry: 1, noResponseRetries: 1, retryDelay: 200 };
/**
 * The code exchange retries a 429/5xx once, but not a timeout or a lost connection: a code that
 * reached Google may be spent (a retry can only meet invalid_grant), and a hung Google must not
 * hold the callback for more than one timeout.
 */
const EXCHANGE_RETRY = { retry: 1, noResponseRetries: 0, retryDelay: 200 };
/** Optional override of the per-call timeout (tests of the timeout path use a short one). */
export const GOOGLE_TIMEOUT_MS = Symbol('GOOGLE_TIMEOUT_MS');

/**
 * The SDK edge for Google's OAuth endpoints (STYLE practice 2): authorize URL, code exchange with
 * the PKCE verifier, refresh, revoke, userinfo. Every endpoint comes from configuration so the
 * real SDK can talk to an emulator. Every failure leaves here as a `ProviderError`.
 */
@Injectable()
export class GcpOAuthClient {
  private client: BrokerOAuth2Client | undefined;
  private exchangeClient: OAuth2Client | undefined;
  private readonly options: (retryConfig: typeof ONE_RETRY) => OAuth2ClientOptions;
  readonly redirectUri: string;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() @Inject(GOOGLE_TIMEOUT_MS) timeoutMs: number = DEFAULT_GOOGLE_TIMEOUT_MS,
  ) {
    const gcp = config.gcp;
    this.redirectUri = new URL('/gcp/callback', config.publicUrl).toString();
    const options = (retryConfig: typeof ONE_RETRY): OAuth2ClientOptions => ({
      clientId: gcp.client?.clientId,
      clientSecret: gcp.client?.clientSecret,
      redirectUri: this.redirectUri,
      endpoints: {
        oauth2AuthBaseUrl: gcp.authUrl,
        oauth2TokenUrl: gcp.tokenUrl,
        oauth2RevokeUrl: gcp.revokeUrl,
      },
      // undici's dispatcher rather than gaxios' node-fetch fallback or the built-in fetch: a
      // refresh makes one such call, and this costs the worker half the CPU (undici-fetch.ts).
      // A bound on every call so a hung Google never holds a callback (or a refresh lock) open.
      // The SDK asks every token call to retry (3 times by default); this retryConfig is merged
      // into it and caps that.
      transporterOptions: {
        fetchImplementation: undiciFetch(),
        timeout: timeoutMs,
        retryConfig,
      },
    });
    this.options = options;
  }

  /** The SDK client, made (and the SDK loaded) on the first call. */
  private get oauth(): BrokerOAuth2Client {
    BrokerOAuth2ClientClass ??= defineBrokerOAuth2Client();
    this.client ??= new BrokerOAuth2ClientClass(this.options(ONE_RETRY));
    return this.client;
  }

  /** The same client with the exchange's retry rule, for the code exchange only. */
  private get exchanger(): OAuth2Client {
    this.exchangeClient ??= new (googleAuth().OAuth2Client)(this.options(EXCHANGE_RETRY));
    return this.exchangeClient;
  }

  /** The consent URL (SPEC §5 GCP step 2). */
  authorizeUrl(input: { state: string; codeChallenge: string; scopes: string[] }): string {
    return this.oauth.generateAuthUrl({
      access_type: 'offline',
      prompt: 'consent',
      include_granted_scopes: true,
      scope: input.scopes,
      state: input.state,
      code_challenge: input.codeChallenge,
      code_challenge_method: googleAuth().CodeChallengeMethod.S256,
    });
  }

  async exchangeCode(code: string, codeVerifier: string): Promise<GoogleTokens> {
    try {
      const { tokens } = await this.exchanger.getToken({ code, codeVerifier });
      return parse('code exchange', tokenResponse, tokens);
    } catch (err) {
      throw classifyGoogleError('code exchange', err);
    }
  }

  /** A refresh_token grant. Google's answer carries no new refresh token (keep the old one). */
  async refresh(refreshToken: string): Promise<GoogleTokens> {
    try {
      const { tokens } = await this.oauth.refreshGrant(refreshToken);
      return parse('refresh', tokenResponse, tokens);
    } catch (err) {
      throw classifyGoogleError('refresh', err);
    }
  }

  /**
   * Revokes a token (and so the whole grant). The token goes in the form body rather than the
   * query string the SDK's `revokeToken` uses, so it never sits in a URL that a proxy might log.
   */
  async revoke(token: string): Promise<void> {
    try {
      await this.oauth.transporter.request({
        method: 'POST',
        url: this.config.gcp.revokeUrl,
        data: new URLSearchParams({ token }),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
    } catch (err) {
      throw classifyGoogleError('revoke', err);
    }
  }

  async userinfo(accessToken: string): Promise<GoogleUser> {
    try {
      const res = await this.oauth.transporter.request<unknown>({
        method: 'GET',
        url: this.config.gcp.userinfoUrl,
        headers: { authorization: `Bearer ${accessToken}` },
      });
      return parse('userinfo', userinfoResponse, res.data);
    } catch (err) {
      throw classifyGoogleError('userinfo', err);
    }
  }
}

/** A body that is not what Google documents (HTML from a proxy, truncated JSON): transient. */
function parse<T>(operation: string, schema: z.ZodType<T, unknown>, data: unknown): T {
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    throw new ProviderError(
      'transient',
      'bad_response',
      `Google ${operation} failed: unexpected response`,
    );
  }
  return parsed.data;
}
