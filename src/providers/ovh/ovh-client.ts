import { Inject, Injectable, Optional } from '@nestjs/common';
import { Gaxios, GaxiosError, type GaxiosOptions } from 'gaxios';
import { APP_CONFIG, type AppConfig, type OvhRegion } from '../../config/config';
import { BrokerError } from '../../common/error-codes';
import { Clock, SYSTEM_CLOCK } from '../../common/clock';

export interface OvhTokens {
  accessToken: string;
  refreshToken?: string;
  expiresAt: Date;
  scope: string;
}

/**
 * An OVHcloud failure: HTTP status (0 without a response) and the OAuth `error` word or the API's
 * `errorCode`/`class`. Built from the response only — gaxios' error holds the request with the
 * client secret, code, verifier and tokens, so it never travels further than this file.
 */
export class OvhApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    operation: string,
  ) {
    super(`ovh ${operation} failed: ${status || 'no response'}${error ? ` ${error}` : ''}`);
    this.name = 'OvhApiError';
  }
}

/** Reads retry once (429/5xx, a lost connection); the broker's own backoff does the rest. */
const RETRY: GaxiosOptions['retryConfig'] = {
  retry: 1,
  retryDelay: 200,
  noResponseRetries: 1,
  statusCodesToRetry: [
    [429, 429],
    [500, 599],
  ],
};

const WORD = /^[A-Za-z0-9_.:-]{1,64}$/;

/** The OVHcloud edge per region: OAuth2 (`OVH_<R>_AUTH_URL`) and the API (`OVH_<R>_API_URL`). */
/**
 * Per call: a code exchange and a refresh are one call each (no retries, below), so a callback's
 * exchange gives up within this; `GET /me` retries once.
 */
export const DEFAULT_OVH_TIMEOUT_MS = 8_000;
/** Optional override of the per-call timeout (tests of the timeout path use a short one). */
export const OVH_TIMEOUT_MS = Symbol('OVH_TIMEOUT_MS');

@Injectable()
export class OvhClient {
  private readonly http: Gaxios;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() @Inject(OVH_TIMEOUT_MS) timeoutMs: number = DEFAULT_OVH_TIMEOUT_MS,
    @Optional() private readonly clock: Clock = SYSTEM_CLOCK,
  ) {
    this.http = new Gaxios({ timeout: timeoutMs, retry: true });
  }

  region(region: OvhRegion) {
    const r = this.config.ovh.regions[region];
    if (!r.enabled || !r.client) {
      throw new BrokerError(
        'provider_disabled',
        `The ovh provider is not enabled for region ${region}`,
      );
    }
    return {
      client: r.client,
      authUrl: r.authUrl.replace(/\/+$/, ''),
      apiUrl: r.apiUrl.replace(/\/+$/, ''),
    };
  }

  redirectUri(): string {
    return `${this.config.publicUrl.replace(/\/+$/, '')}/ovh/callback`;
  }

  authorizeUrl(region: OvhRegion, state: string, codeChallenge: string): string {
    const r = this.region(region);
    const url = new URL(`${r.authUrl}/authorize`);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: r.client.clientId,
      redirect_uri: this.redirectUri(),
      scope: 'all',
      state,
      code_challenge: codeChallenge,
      code_challenge_method: 'S256',
    }).toString();
    return url.toString();
  }

  exchangeCode(region: OvhRegion, code: string, codeVerifier: string): Promise<OvhTokens> {
    return this.token(region, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: this.redirectUri(),
      code_verifier: codeVerifier,
    });
  }

  refresh(region: OvhRegion, refreshToken: string, signal?: AbortSignal): Promise<OvhTokens> {
    return this.token(region, { grant_type: 'refresh_token', refresh_token: refreshToken }, signal);
  }

  /** The account's nichandle (`GET /me`). */
  async nichandle(region: OvhRegion, accessToken: string): Promise<string> {
    const me = await this.call<{ nichandle?: unknown }>('me', {
      url: `${this.region(region).apiUrl}/me`,
      method: 'GET',
      headers: { authorization: `Bearer ${accessToken}` },
      retryConfig: RETRY,
    });
    if (typeof me.nichandle !== 'string' || me.nichandle === '') {
      throw new OvhApiError(502, 'no_nichandle', 'me');
    }
    return me.nichandle;
  }

  private async token(
    region: OvhRegion,
    form: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<OvhTokens> {
    const r = this.region(region);
    const data = await this.call<{
      access_token?: unknown;
      refresh_token?: unknown;
      expires_in?: unknown;
      scope?: unknown;
    }>('token', {
      url: `${r.authUrl}/token`,
      method: 'POST',
      data: new URLSearchParams({
        ...form,
        client_id: r.client.clientId,
        client_secret: r.client.clientSecret,
      }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      // A code is single-use: no retry of the exchange. A refresh retried after a lost answer may
      // meet a rotated token, which the caller sees as invalid_grant; so no retries here at all.
      retry: false,
      signal,
    });
    if (typeof data.access_token !== 'string' || data.access_token === '') {
      throw new OvhApiError(502, 'no_access_token', 'token');
    }
    return {
      accessToken: data.access_token,
      refreshToken: typeof data.refresh_token === 'string' ? data.refresh_token : undefined,
      expiresAt: new Date(
        this.clock.now() + (typeof data.expires_in === 'number' ? data.expires_in : 3600) * 1000,
      ),
      scope: typeof data.scope === 'string' ? data.scope : 'all',
    };
  }

  private async call<T>(operation: string, options: GaxiosOptions): Promise<T> {
    try {
      return (await this.http.request<T>({ ...options, responseType: 'json' })).data;
    } catch (err) {
      if (err instanceof GaxiosError) {
        const body = err.response?.data as
          { error?: unknown; errorCode?: unknown; class?: unknown } | undefined;
        const word = [body?.error, body?.errorCode, body?.class].find(
          (w): w is string => typeof w === 'string' && WORD.test(w),
        );
        throw new OvhApiError(err.response?.status ?? 0, word ?? '', operation);
      }
      throw new OvhApiError(0, '', operation);
    }
  }
}
