import { Inject, Injectable } from '@nestjs/common';
import { Gaxios, GaxiosError, type GaxiosOptions } from 'gaxios';
import { APP_CONFIG, type AppConfig } from '../../../config/config';

/** The ACL (policy file) as JSON, with the ETag that a write must send back in If-Match. */
export interface TailscaleAcl {
  policy: Record<string, unknown> & { tagOwners?: Record<string, string[]> };
  etag: string;
}

export interface CreatedAuthKey {
  id: string;
  /** The key itself: a secret, goes to the secret store only. */
  key: string;
  expires: string;
}

/** A failed Tailscale call: status and operation only (gaxios' error holds the Authorization header). */
export class TailscaleSetupApiError extends Error {
  constructor(
    readonly status: number,
    operation: string,
  ) {
    super(`tailscale ${operation} failed: ${status || 'no response'}`);
    this.name = 'TailscaleSetupApiError';
  }
}

/** The Tailscale API calls setup makes (ACL, auth keys) at `TAILSCALE_API_URL`. */
@Injectable()
export class TailscaleSetupClient {
  private readonly http = new Gaxios({ timeout: 10_000 });

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  async getAcl(token: string, tailnet: string): Promise<TailscaleAcl> {
    const res = await this.call<Record<string, unknown>>('acl get', {
      url: this.url(tailnet, '/acl'),
      method: 'GET',
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    });
    // Not a JSON object (e.g. HuJSON text): spreading it into a write would replace the policy.
    if (typeof res.data !== 'object' || res.data === null || Array.isArray(res.data))
      throw new TailscaleSetupApiError(502, 'acl get');
    const etag = res.headers.get('etag') ?? '';
    return { policy: res.data, etag };
  }

  /** Writes the ACL only if it is still the version read (If-Match); 412 when it changed. */
  async setAcl(token: string, tailnet: string, acl: TailscaleAcl): Promise<void> {
    await this.call('acl set', {
      url: this.url(tailnet, '/acl'),
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json',
        'if-match': acl.etag,
      },
      data: JSON.stringify(acl.policy),
    });
  }

  async createAuthKey(
    token: string,
    tailnet: string,
    tag: string,
    expirySeconds: number,
  ): Promise<CreatedAuthKey> {
    const res = await this.call<{ id?: string; key?: string; expires?: string }>('key create', {
      url: this.url(tailnet, '/keys'),
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
    });
    if (!res.data.id || !res.data.key) throw new TailscaleSetupApiError(502, 'key create');
    return { id: res.data.id, key: res.data.key, expires: res.data.expires ?? '' };
  }

  /** Whether a key still exists and can be used (not revoked, not expired). */
  async keyUsable(token: string, tailnet: string, keyId: string): Promise<boolean> {
    try {
      const res = await this.call<{ revoked?: string; invalid?: boolean; expires?: string }>(
        'key get',
        {
          url: this.url(tailnet, `/keys/${encodeURIComponent(keyId)}`),
          method: 'GET',
          headers: { authorization: `Bearer ${token}` },
        },
      );
      const expires = res.data.expires ? Date.parse(res.data.expires) : Number.POSITIVE_INFINITY;
      return !res.data.revoked && res.data.invalid !== true && expires > Date.now();
    } catch (err) {
      if (err instanceof TailscaleSetupApiError && err.status === 404) return false;
      throw err;
    }
  }

  private url(tailnet: string, path: string): string {
    return `${this.config.tailscale.apiUrl}/api/v2/tailnet/${encodeURIComponent(tailnet)}${path}`;
  }

  private async call<T>(operation: string, options: GaxiosOptions) {
    try {
      return await this.http.request<T>({ ...options, responseType: 'json' });
    } catch (err) {
      throw new TailscaleSetupApiError(
        err instanceof GaxiosError ? (err.response?.status ?? 0) : 0,
        operation,
      );
    }
  }
}
