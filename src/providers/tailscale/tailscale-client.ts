import { Inject, Injectable, Optional } from '@nestjs/common';
import { Gaxios, GaxiosError, type GaxiosOptions, type GaxiosResponse } from 'gaxios';
import { APP_CONFIG, type AppConfig } from '../../config/config';
import { Clock, SYSTEM_CLOCK } from '../../common/clock';

export interface TailscaleToken {
  accessToken: string;
  expiresAt: Date;
  scope: string;
}

export interface TailscaleDevice {
  id: string;
  name: string;
  user: string;
}

/**
 * The ACL (policy file) as its owner wrote it: HuJSON text, comments and trailing commas
 * included, with the ETag that a write must send back in If-Match ('' when none was sent).
 */
export interface TailscaleAcl {
  hujson: string;
  etag: string;
}

export interface CreatedAuthKey {
  id: string;
  /** The key itself: a secret, goes to the secret store only. */
  key: string;
  expires: string;
}

/**
 * A Tailscale API failure: the HTTP status (0 when there was no response) and Tailscale's
 * `{"message"}`, cut short. Built from the response only — gaxios' own error holds the request,
 * form body and Authorization header, so it never travels further than this file.
 */
export class TailscaleApiError extends Error {
  constructor(
    readonly status: number,
    readonly upstreamMessage: string,
    operation: string,
  ) {
    super(`tailscale ${operation} failed: ${status || 'no response'} ${upstreamMessage}`.trim());
    this.name = 'TailscaleApiError';
  }
}

/**
 * Retries are chosen per call: reads and token mints retry once on 429/5xx or a lost
 * connection (the broker's own backoff is the retry policy; one refresh attempt is at most two
 * calls); writes that must not happen twice (an ACL write with If-Match, a key creation) are not
 * retried here — the setup step's own loop and the job's backoff decide.
 */
const NO_RETRY: GaxiosOptions['retryConfig'] = { retry: 0, noResponseRetries: 0 };
const RETRY: GaxiosOptions['retryConfig'] = {
  retry: 1,
  retryDelay: 200,
  noResponseRetries: 1,
  statusCodesToRetry: [
    [429, 429],
    [500, 599],
  ],
};

/** Per call; with one retry a refresh attempt stays under the refresh deadline. */
export const DEFAULT_TAILSCALE_TIMEOUT_MS = 8_000;
/** Optional override of the per-call timeout (tests of the timeout path use a short one). */
export const TAILSCALE_TIMEOUT_MS = Symbol('TAILSCALE_TIMEOUT_MS');

/**
 * The Tailscale API edge (`TAILSCALE_API_URL`), for the connector and its setup alike: OAuth
 * client-credentials tokens, devices, the ACL, auth keys.
 */
@Injectable()
export class TailscaleClient {
  private readonly http: Gaxios;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() @Inject(TAILSCALE_TIMEOUT_MS) timeoutMs: number = DEFAULT_TAILSCALE_TIMEOUT_MS,
    @Optional() private readonly clock: Clock = SYSTEM_CLOCK,
  ) {
    this.http = new Gaxios({ timeout: timeoutMs, retry: true });
  }

  private url(path: string): string {
    return `${this.config.tailscale.apiUrl.replace(/\/+$/, '')}/api/v2${path}`;
  }

  private tailnetUrl(tailnet: string, path: string): string {
    return this.url(`/tailnet/${encodeURIComponent(tailnet)}${path}`);
  }

  async mintToken(
    clientId: string,
    clientSecret: string,
    signal?: AbortSignal,
  ): Promise<TailscaleToken> {
    const { data } = await this.call<{
      access_token?: string;
      expires_in?: number;
      scope?: string;
    }>('token', {
      url: this.url('/oauth/token'),
      method: 'POST',
      data: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: clientSecret,
      }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      // Minting twice is harmless (each token lives an hour on its own), so POST retries too.
      retryConfig: { ...RETRY, httpMethodsToRetry: ['POST'] },
      signal,
    });
    if (typeof data.access_token !== 'string' || data.access_token === '') {
      throw new TailscaleApiError(502, 'token response without access_token', 'token');
    }
    return {
      accessToken: data.access_token,
      expiresAt: new Date(this.clock.now() + (data.expires_in ?? 3600) * 1000),
      scope: data.scope ?? '',
    };
  }

  async listDevices(accessToken: string, tailnet: string): Promise<TailscaleDevice[]> {
    const { data } = await this.call<{ devices?: Partial<TailscaleDevice>[] }>('devices', {
      url: this.tailnetUrl(tailnet, '/devices'),
      method: 'GET',
      headers: { authorization: `Bearer ${accessToken}` },
      retryConfig: RETRY,
    });
    return (data.devices ?? []).map((d) => ({
      id: String(d.id ?? ''),
      name: String(d.name ?? ''),
      user: String(d.user ?? ''),
    }));
  }

  /** Deletes an auth key; one already gone (404) counts as deleted. */
  async deleteKey(accessToken: string, tailnet: string, keyId: string): Promise<void> {
    try {
      await this.call('delete key', {
        url: this.tailnetUrl(tailnet, `/keys/${encodeURIComponent(keyId)}`),
        method: 'DELETE',
        headers: { authorization: `Bearer ${accessToken}` },
        retryConfig: RETRY,
      });
    } catch (err) {
      if (err instanceof TailscaleApiError && err.status === 404) return;
      throw err;
    }
  }

  /** The policy file as HuJSON text, so a write can keep its comments and formatting. */
  async getAcl(token: string, tailnet: string): Promise<TailscaleAcl> {
    const res = await this.call<string>(
      'acl get',
      {
        url: this.tailnetUrl(tailnet, '/acl'),
        method: 'GET',
        headers: { authorization: `Bearer ${token}`, accept: 'application/hujson' },
        retryConfig: NO_RETRY,
      },
      'text',
    );
    if (typeof res.data !== 'string') {
      throw new TailscaleApiError(502, 'no policy file text', 'acl get');
    }
    return { hujson: res.data, etag: res.headers.get('etag') ?? '' };
  }

  /**
   * Writes the policy file (HuJSON) only if it is still the version read (If-Match); 412 when
   * it changed. Without an ETag there is nothing to match, and a write without If-Match would
   * overwrite whatever is there: refused before any request.
   */
  async setAcl(token: string, tailnet: string, acl: TailscaleAcl): Promise<void> {
    if (acl.etag === '') {
      throw new TailscaleApiError(428, 'no ETag to send in If-Match', 'acl set');
    }
    await this.call(
      'acl set',
      {
        url: this.tailnetUrl(tailnet, '/acl'),
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/hujson',
          accept: 'application/hujson',
          'if-match': acl.etag,
        },
        data: acl.hujson,
        retryConfig: NO_RETRY,
      },
      'text',
    );
  }

  async createAuthKey(
    token: string,
    tailnet: string,
    tag: string,
    expirySeconds: number,
  ): Promise<CreatedAuthKey> {
    const { data } = await this.call<{ id?: string; key?: string; expires?: string }>(
      'key create',
      {
        url: this.tailnetUrl(tailnet, '/keys'),
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        data: JSON.stringify({
          capabilities: {
            devices: {
              create: { reusable: true, ephemeral: false, preauthorized: true, tags: [tag] },
            },
          },
          expirySeconds,
          description: 'credential-broker',
        }),
        retryConfig: NO_RETRY,
      },
    );
    if (!data.id || !data.key)
      throw new TailscaleApiError(502, 'no key in the answer', 'key create');
    return { id: data.id, key: data.key, expires: data.expires ?? '' };
  }

  /** Whether a key still exists and can be used (not revoked, not expired). */
  async keyUsable(token: string, tailnet: string, keyId: string): Promise<boolean> {
    try {
      const { data } = await this.call<{ revoked?: string; invalid?: boolean; expires?: string }>(
        'key get',
        {
          url: this.tailnetUrl(tailnet, `/keys/${encodeURIComponent(keyId)}`),
          method: 'GET',
          headers: { authorization: `Bearer ${token}` },
          retryConfig: NO_RETRY,
        },
      );
      const expires = data.expires ? Date.parse(data.expires) : Number.POSITIVE_INFINITY;
      return !data.revoked && data.invalid !== true && expires > this.clock.now();
    } catch (err) {
      if (err instanceof TailscaleApiError && err.status === 404) return false;
      throw err;
    }
  }

  private async call<T>(
    operation: string,
    options: GaxiosOptions,
    responseType: 'json' | 'text' = 'json',
  ): Promise<GaxiosResponse<T>> {
    try {
      return await this.http.request<T>({ ...options, responseType });
    } catch (err) {
      if (err instanceof GaxiosError) {
        const body = errorBody(err.response?.data);
        const message = typeof body?.message === 'string' ? body.message.slice(0, 200) : '';
        throw new TailscaleApiError(err.response?.status ?? 0, message, operation);
      }
      throw new TailscaleApiError(0, '', operation);
    }
  }
}

/** Tailscale's `{"message"}`, whether gaxios parsed it already or left it as text. */
function errorBody(data: unknown): { message?: unknown } | undefined {
  if (typeof data !== 'string') return data as { message?: unknown } | undefined;
  try {
    return JSON.parse(data) as { message?: unknown };
  } catch {
    return undefined;
  }
}
