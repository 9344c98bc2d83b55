import { Inject, Injectable, Optional } from '@nestjs/common';
import { type ClientSecretCredential, type ClientSecretCredentialOptions } from '@azure/identity';
import { APP_CONFIG, type AppConfig } from '../../config/config';
import { type SecretExpiry, expiryFromApplication } from './azure-secret-expiry';

export interface AzureServicePrincipal {
  tenantId: string;
  clientId: string;
  clientSecret: string;
}

export interface AzureSubscription {
  subscriptionId: string;
  displayName: string;
  state: string;
  /** The tenant's id as ARM reports it (the caller may have named the tenant by domain). */
  tenantId?: string;
}

export interface AzureAccessToken {
  accessToken: string;
  expiresAt: Date;
}

/*
 * The Azure SDK modules are loaded on the first Azure call, not with this module: @azure/identity
 * and @azure/arm-subscriptions are tens of MB of heap that a process where Azure is not enabled
 * (or the refresh worker, which never calls them) would otherwise carry.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const identity = () => require('@azure/identity') as typeof import('@azure/identity');
const subscriptions = () =>
  require('@azure/arm-subscriptions') as typeof import('@azure/arm-subscriptions');
/* eslint-enable @typescript-eslint/no-require-imports */

let knownAuthorityHosts: Set<string> | undefined;

/** Authority hosts MSAL knows without instance discovery (its built-in cloud metadata). */
function isKnownAuthorityHost(host: string): boolean {
  knownAuthorityHosts ??= new Set(
    Object.values(identity().AzureAuthorityHosts).map((h) => new URL(h).host),
  );
  return knownAuthorityHosts.has(host);
}

type AdditionalPolicyConfig = NonNullable<
  ClientSecretCredentialOptions['additionalPolicies']
>[number];

/** Per request; with one retry a refresh attempt stays under the refresh deadline. */
export const DEFAULT_AZURE_TIMEOUT_MS = 8_000;
/** Optional override of the per-request timeout (tests of the timeout path use a short one). */
export const AZURE_TIMEOUT_MS = Symbol('AZURE_TIMEOUT_MS');
/** At most one retry: the broker's own backoff is the retry policy. */
const RETRY_OPTIONS = { maxRetries: 1, retryDelayInMs: 200, maxRetryDelayInMs: 1_000 };

/**
 * The SDKs set no timeout of their own (a hung Entra ID or ARM would hold a login or a refresh
 * lock open): this pipeline policy gives every request, each retry included, a bound.
 */
function timeoutPolicy(timeoutMs: number): AdditionalPolicyConfig {
  return {
    position: 'perRetry',
    policy: {
      name: 'brokerRequestTimeout',
      sendRequest: (request, next) => {
        if (!request.timeout || request.timeout > timeoutMs) request.timeout = timeoutMs;
        return next(request);
      },
    },
  };
}

/**
 * The Azure SDK edge: a `ClientSecretCredential` per service principal (`AZURE_AUTHORITY_HOST`)
 * and `SubscriptionClient` at `AZURE_ARM_ENDPOINT`. Errors are thrown as the SDK made them; the
 * callers classify them with `classifyAzureError`.
 */
@Injectable()
export class AzureClient {
  private readonly timeout: AdditionalPolicyConfig;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() @Inject(AZURE_TIMEOUT_MS) timeoutMs: number = DEFAULT_AZURE_TIMEOUT_MS,
  ) {
    this.timeout = timeoutPolicy(timeoutMs);
  }

  credential(sp: AzureServicePrincipal): ClientSecretCredential {
    const authorityHost = this.config.azure.authorityHost;
    return new (identity().ClientSecretCredential)(sp.tenantId, sp.clientId, sp.clientSecret, {
      authorityHost,
      // Instance discovery asks login.microsoftonline.com which hosts are genuine; for a host
      // outside Microsoft's clouds (an emulator, an air-gapped proxy) that call can only fail.
      disableInstanceDiscovery: !isKnownAuthorityHost(new URL(authorityHost).host),
      // A login is interactive and a refresh has its own backoff: one quick retry of a
      // transient failure, not the SDK's minute of retries.
      retryOptions: RETRY_OPTIONS,
      additionalPolicies: [this.timeout],
    });
  }

  /** An ARM token (scope `AZURE_ARM_SCOPE`, which stays the audience even at another endpoint). */
  async armToken(
    credential: ClientSecretCredential,
    abortSignal?: AbortSignal,
  ): Promise<AzureAccessToken> {
    const token = await credential.getToken(this.config.azure.armScope, { abortSignal });
    return { accessToken: token.token, expiresAt: new Date(token.expiresOnTimestamp) };
  }

  /** Every subscription the principal can see, following nextLink. */
  async listSubscriptions(credential: ClientSecretCredential): Promise<AzureSubscription[]> {
    const endpoint = this.config.azure.armEndpoint.replace(/\/+$/, '');
    const client = new (subscriptions().SubscriptionClient)(credential, {
      // `$host` builds the request URL, `endpoint` the pipeline's base; both must point at ARM.
      endpoint,
      $host: endpoint,
      credentialScopes: [this.config.azure.armScope],
      retryOptions: RETRY_OPTIONS,
      additionalPolicies: [this.timeout],
    });
    const out: AzureSubscription[] = [];
    for await (const s of client.subscriptions.list()) {
      if (!s.subscriptionId) continue;
      out.push({
        subscriptionId: s.subscriptionId,
        displayName: s.displayName ?? s.subscriptionId,
        state: s.state ?? 'Unknown',
        tenantId: s.tenantId?.toLowerCase(),
      });
    }
    return out;
  }

  /**
   * When the principal's own client secret expires, from Microsoft Graph
   * (`GET /v1.0/applications(appId='<client_id>')`, with a token of the principal for
   * `AZURE_GRAPH_SCOPE`). The principal may read its own application only with a Graph
   * permission (docs/providers/azure.md); without one, or with Graph away, the answer says why
   * the expiry is unknown. Never throws, and never takes longer than `timeoutMs` in all (token and
   * request): a login waits for it.
   *
   * One GET with a bearer token is hand-written on `fetch` rather than pulling in the Graph SDK
   * (`@microsoft/microsoft-graph-client`) for it.
   */
  async secretExpiry(
    credential: ClientSecretCredential,
    sp: AzureServicePrincipal,
    options: { timeoutMs: number; now: number },
  ): Promise<SecretExpiry> {
    const signal = AbortSignal.timeout(options.timeoutMs);
    try {
      const token = await untilAborted(
        credential.getToken(this.config.azure.graphScope, { abortSignal: signal }),
        signal,
      );
      const endpoint = this.config.azure.graphEndpoint.replace(/\/+$/, '');
      const app = encodeURIComponent(sp.clientId);
      const url = `${endpoint}/v1.0/applications(appId='${app}')?$select=id,appId,passwordCredentials`;
      const res = await fetch(url, {
        headers: { authorization: `Bearer ${token.token}`, accept: 'application/json' },
        signal,
        redirect: 'error',
      });
      if (!res.ok) {
        const code = await graphErrorCode(res);
        if (res.status === 401 || res.status === 403)
          return { known: false, reason: 'graph_forbidden', detail: `http_${res.status} ${code}` };
        if (res.status === 404)
          return { known: false, reason: 'not_found', detail: `http_404 ${code}` };
        return { known: false, reason: 'graph_unavailable', detail: `http_${res.status} ${code}` };
      }
      return expiryFromApplication(await res.json(), sp.clientSecret, options.now);
    } catch (err) {
      const detail = signal.aborted ? 'timeout' : err instanceof Error ? err.name : 'unexpected';
      return { known: false, reason: 'graph_unavailable', detail };
    }
  }

  /**
   * Whether the authority knows `tenantId`: true, false, or undefined when it cannot tell (down,
   * unreachable). MSAL reports an unknown tenant and an unreachable authority alike
   * (`endpoints_resolution_error`), so the caller asks this to tell them apart.
   */
  async tenantExists(tenantId: string): Promise<boolean | undefined> {
    const host = this.config.azure.authorityHost.replace(/\/+$/, '');
    const url = `${host}/${encodeURIComponent(tenantId)}/v2.0/.well-known/openid-configuration`;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      await res.body?.cancel();
      if (res.ok) return true;
      // Entra ID answers an unknown tenant with 400 (AADSTS90002), a malformed one with 400 or 404.
      if (res.status === 400 || res.status === 404) return false;
      return undefined;
    } catch {
      return undefined;
    }
  }
}

/**
 * `promise`, or a rejection as soon as `signal` fires: MSAL does not always stop a token request
 * on its abort signal, and a login must not wait for it.
 */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(signal.reason as Error);
    if (signal.aborted) abort();
    signal.addEventListener('abort', abort, { once: true });
    void promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}

/** Graph's error word (`Authorization_RequestDenied`), for the log line; never its message. */
async function graphErrorCode(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as { error?: { code?: unknown } };
    const code = body.error?.code;
    return typeof code === 'string' && /^[A-Za-z_.]{1,64}$/.test(code) ? code : 'no_code';
  } catch {
    return 'no_code';
  }
}
