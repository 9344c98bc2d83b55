import { Inject, Injectable } from '@nestjs/common';
import { Gaxios, GaxiosError, type GaxiosOptions } from 'gaxios';
import { APP_CONFIG, type AppConfig } from '../../config/config';

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

const RETRY: GaxiosOptions['retryConfig'] = {
  retry: 2,
  retryDelay: 200,
  noResponseRetries: 2,
  statusCodesToRetry: [
    [429, 429],
    [500, 599],
  ],
};

/** The Tailscale API edge (`TAILSCALE_API_URL`): OAuth client-credentials tokens, devices, keys. */
@Injectable()
export class TailscaleClient {
  private readonly http = new Gaxios({ timeout: 10_000, retry: true });

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  private url(path: string): string {
    return `${this.config.tailscale.apiUrl.replace(/\/+$/, '')}/api/v2${path}`;
  }

  async mintToken(clientId: string, clientSecret: string): Promise<TailscaleToken> {
    const data = await this.call<{ access_token?: string; expires_in?: number; scope?: string }>(
      'token',
      {
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
      },
    );
    if (typeof data.access_token !== 'string' || data.access_token === '') {
      throw new TailscaleApiError(502, 'token response without access_token', 'token');
    }
    return {
      accessToken: data.access_token,
      expiresAt: new Date(Date.now() + (data.expires_in ?? 3600) * 1000),
      scope: data.scope ?? '',
    };
  }

  async listDevices(accessToken: string, tailnet: string): Promise<TailscaleDevice[]> {
    const data = await this.call<{ devices?: Partial<TailscaleDevice>[] }>('devices', {
      url: this.url(`/tailnet/${encodeURIComponent(tailnet)}/devices`),
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
        url: this.url(`/tailnet/${encodeURIComponent(tailnet)}/keys/${encodeURIComponent(keyId)}`),
        method: 'DELETE',
        headers: { authorization: `Bearer ${accessToken}` },
        retryConfig: RETRY,
      });
    } catch (err) {
      if (err instanceof TailscaleApiError && err.status === 404) return;
      throw err;
    }
  }

  private async call<T>(operation: string, options: GaxiosOptions): Promise<T> {
    try {
      const res = await this.http.request<T>({ ...options, responseType: 'json' });
      return res.data;
    } catch (err) {
      if (err instanceof GaxiosError) {
        const body = err.response?.data as { message?: unknown } | undefined;
        const message = typeof body?.message === 'string' ? body.message.slice(0, 200) : '';
        throw new TailscaleApiError(err.response?.status ?? 0, message, operation);
      }
      throw new TailscaleApiError(0, '', operation);
    }
  }
}
