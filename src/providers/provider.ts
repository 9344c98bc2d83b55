import { BrokerError } from '../common/error-codes';
import { type ConnectionEntity } from '../database/entities';
import { type Provider, type WebhookEventType } from '../database/enums';
import { type SecretData } from '../secrets/secret-store';
import { type SetupDefinition } from './setup-definition';

/**
 * What every connector implements (STYLE practice 1). Connect flows differ too much to share a
 * signature (OAuth redirects vs. credentials in a POST), so they live in each provider's own
 * controller and service; everything that happens to a connection after it exists goes through
 * this interface, and code outside `providers/` never asks which provider it is talking to.
 */
export interface CredentialProvider {
  readonly provider: Provider;

  /** False when the broker lacks this provider's credentials: its routes answer provider_disabled. */
  isEnabled(): boolean;

  /**
   * Mints a new access token from the stored secret. Returns the full new secret (the old one
   * with the new token; keep the refresh token when the provider returns none). Throws
   * `ProviderError` — `permanent` when the grant or secret is dead, `transient` otherwise.
   * `signal` fires when the broker gives up on the call (its deadline): cancel the request.
   */
  refresh(
    connection: ConnectionEntity,
    secret: SecretData,
    signal?: AbortSignal,
  ): Promise<TokenGrant>;

  /**
   * Undoes upstream what the connection made, where the provider allows: what post-connect setup
   * created (GCP: its service accounts, their keys and IAM bindings; Tailscale: the auth key),
   * then the grant itself (Google's revoke endpoint). `setup` is what setup left behind: its
   * secret, if it stored one, and its run's result (the inventory of what it made). Each piece is
   * tried on its own; what could not be removed is reported in `left`, not thrown. A throw means
   * nothing could be attempted; either way the caller logs, audits, and deletes locally.
   */
  revoke(
    connection: ConnectionEntity,
    secret: SecretData,
    setup: SetupLeftovers,
  ): Promise<UpstreamCleanup>;

  /** Post-connect setup, for providers that have one (setup_status is not_applicable otherwise). */
  readonly setup?: SetupDefinition;

  /**
   * Upkeep the worker runs from time to time over active connections (SPEC §14: a Tailscale auth
   * key replaced before it expires, the old one deleted; an Azure secret's expiry recorded, and
   * `connection.secret_expiring` raised 14 days ahead). Returns what it did, or null when nothing
   * was due. `isConnected` is asked right before any write the driver makes itself (the secret
   * store): a disconnect wins, and whatever was just made upstream is undone. The connection row
   * and events are the engine's to write: a driver returns them in the outcome.
   */
  maintain?(
    connection: ConnectionEntity,
    secret: SecretData,
    isConnected: () => Promise<boolean>,
  ): Promise<MaintainOutcome | null>;

  /**
   * What GET /connections/:id/token answers, for a provider whose credentials are not one bearer
   * token (AWS: a key id, a secret key and a session token). `format` is undefined (the default
   * answer) or one of `tokenFormats`. Absent: `{ access_token, token_type, expires_at, scope }`.
   * Its answer schemas are registered with `registerTokenView` (providers/token-views.ts).
   */
  tokenView?(
    secret: SecretData,
    connection: ConnectionEntity,
    format: string | undefined,
  ): Record<string, unknown>;

  /** The `?format=` values `tokenView` answers besides the default; none when absent. */
  readonly tokenFormats?: readonly string[];

  /**
   * The secret fields `tokenView` reads: all the token cache keeps of a secret version. Absent:
   * DEFAULT_TOKEN_FIELDS. A field a refresh needs but a read does not show stays out.
   */
  readonly tokenFields?: readonly string[];
}

/**
 * What a `maintain` pass did. The engine merges `metadata` into the connection and raises
 * `events` in one transaction (the webhook outbox), and only if the row is still the one the
 * driver was given (same metadata and secret version, not revoked): otherwise the pass is
 * dropped and the next one decides again. `did` is logged and audited (`setup.maintained`).
 */
export interface MaintainOutcome {
  /** What was done, in words (never a secret); absent when only facts were recorded. */
  did?: string;
  /** Keys to merge into the connection's metadata: facts worth showing, never a secret. */
  metadata?: Record<string, unknown>;
  /** Events about the connection; each body's `data` is `{ connection, ...data }`. */
  events?: MaintainEvent[];
}

export interface MaintainEvent {
  type: WebhookEventType;
  /** Added to the body's `data` beside `connection`; never a secret. */
  data?: Record<string, unknown>;
}

/** The fields the default token answer is made of (and all the token cache keeps of it). */
export const DEFAULT_TOKEN_FIELDS = ['access_token', 'token_type', 'expires_at', 'scope'] as const;

export function tokenFieldsOf(driver: CredentialProvider | undefined): readonly string[] {
  return driver?.tokenFields ?? DEFAULT_TOKEN_FIELDS;
}

/** What post-connect setup left for a disconnect to undo. */
export interface SetupLeftovers {
  /** The setup secret (`connections/<id>/setup`), if setup stored one. */
  secret: SecretData | null;
  /** The latest setup run's result (each step's state), if setup ran. */
  result: Record<string, unknown> | null;
}

export const NO_SETUP: SetupLeftovers = { secret: null, result: null };

/**
 * What a revoke did upstream: the resources it removed and those it had to leave, each by its
 * provider's resource name with a short reason word (`forbidden`, `unavailable`…). Never a
 * token or key material: it goes to logs, the audit trail and the `connection.revoked` webhook.
 */
export interface UpstreamCleanup {
  removed: string[];
  left: { resource: string; reason: string }[];
}

/** A report for a revoke with nothing upstream to undo (the provider keeps no grant there). */
export function nothingUpstream(): UpstreamCleanup {
  return { removed: [], left: [] };
}

/** The result of a connect or refresh: the new secret version and the facts Postgres keeps. */
export interface TokenGrant {
  secret: SecretData;
  expiresAt: Date;
  scopes: string[];
}

export type ProviderFailure = 'permanent' | 'transient';

/**
 * A provider call failed. `permanent`: the grant or secret is dead (invalid_grant,
 * invalid_client, AADSTS7000215…, Tailscale 401) → needs_reauth. `transient`: anything that may
 * work later (network, 5xx, 429, timeouts). `reason` is a short machine word for logs, metrics
 * and `last_error_code`; the message never holds a secret or a raw provider body.
 */
export class ProviderError extends Error {
  constructor(
    readonly kind: ProviderFailure,
    readonly reason: string,
    message: string,
    options?: { cause?: unknown; status?: number },
  ) {
    super(message, { cause: options?.cause });
    this.name = 'ProviderError';
    this.status = options?.status;
  }

  readonly status?: number;
}

/** The Nest token under which all drivers are collected, as an array. */
export const CREDENTIAL_PROVIDERS = Symbol('CREDENTIAL_PROVIDERS');

/** Each provider module provides (and exports) its driver under its own token. */
export const DRIVER_TOKENS: Record<Provider, symbol> = {
  gcp: Symbol('GCP_DRIVER'),
  azure: Symbol('AZURE_DRIVER'),
  tailscale: Symbol('TAILSCALE_DRIVER'),
  ovh: Symbol('OVH_DRIVER'),
  aws: Symbol('AWS_DRIVER'),
};

/** The short machine word for a failed provider call, for logs and audit rows (never a secret). */
export function providerFailureReason(err: unknown): string {
  if (err instanceof ProviderError) return err.reason;
  if (err instanceof BrokerError) return err.code;
  return 'unexpected';
}
