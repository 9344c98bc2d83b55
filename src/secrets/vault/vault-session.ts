import { Logger } from '@nestjs/common';
import type NodeVault from 'node-vault';
import { z } from 'zod';
import { SecretStoreError } from '../secret-store';
import { sanitiseVaultError, statusOf, toSecretStoreError } from './vault-errors';

export interface VaultAuthConfig {
  token?: string;
  appRole?: { roleId: string; secretId: string; mount: string };
}

/** Per-request options carrying the token: node-vault's shared `client.token` is never set. */
export interface AuthedRequest {
  headers: Record<string, string>;
}

interface Lease {
  ttlSeconds: number;
  renewable: boolean;
  /** False for tokens that never expire (root, or ttl 0 with no expire_time). */
  expires: boolean;
}

const authResponse = z.object({
  auth: z.object({
    client_token: z.string().min(1),
    lease_duration: z.number(),
    renewable: z.boolean(),
  }),
});
const lookupResponse = z.object({
  data: z.object({
    ttl: z.number(),
    renewable: z.boolean().optional(),
    expire_time: z.string().nullable().optional(),
  }),
});

/** Renew (or log in again) when this share of the lease has gone, as Vault's own agent does. */
const RENEW_AT = 2 / 3;

/**
 * The broker's Vault token: a static VAULT_TOKEN, or an AppRole login. Keeps it alive (renew-self
 * at 2/3 of its TTL; AppRole logs in again when renewal fails or max TTL caps the lease) and
 * retries a call once after a fresh login when Vault answers 403.
 */
export class VaultSession {
  private readonly logger = new Logger('VaultSecretStore');
  private token: string | undefined;
  /** The lease length the last login or lookup granted; a renewal shorter than this hit max TTL. */
  private grantedTtlSeconds = 0;
  private loggingIn: Promise<string> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly client: NodeVault.client,
    private readonly auth: VaultAuthConfig,
    private readonly retryDelayMs = 5_000,
  ) {
    if (!auth.appRole && !auth.token) {
      throw new Error('Vault needs VAULT_TOKEN or VAULT_ROLE_ID and VAULT_SECRET_ID');
    }
    this.token = auth.appRole ? undefined : auth.token;
  }

  /** Logs in (AppRole) or looks the static token up, then schedules renewal. */
  async start(): Promise<void> {
    this.stopped = false;
    if (this.auth.appRole) {
      await this.login();
      return;
    }
    const lease = await this.lookup();
    this.grantedTtlSeconds = lease.ttlSeconds;
    this.schedule(lease);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Runs a Vault call with the current token; after a 403, logs in again (AppRole) and retries once. */
  async run<T>(call: (options: AuthedRequest) => Promise<T>): Promise<T> {
    const token = this.token ?? (await this.login());
    try {
      return await call(this.withToken(token));
    } catch (err) {
      const clean = sanitiseVaultError(err);
      if (!this.auth.appRole || statusOf(clean) !== 403) throw clean;
      // Another call may already have replaced the token this one used.
      const fresh =
        this.token !== undefined && this.token !== token ? this.token : await this.login();
      try {
        return await call(this.withToken(fresh));
      } catch (retryErr) {
        throw sanitiseVaultError(retryErr);
      }
    }
  }

  /** `auth/token/lookup-self`: proves the token works. */
  async lookup(): Promise<Lease> {
    const body: unknown = await this.run((o) => this.client.read('auth/token/lookup-self', o));
    const parsed = lookupResponse.safeParse(body);
    if (!parsed.success)
      throw new SecretStoreError('corrupt', 'Vault lookup-self: unexpected answer');
    const { ttl, renewable, expire_time } = parsed.data.data;
    // Vault truncates ttl to whole seconds: 0 with an expire_time is "about to expire", not "never".
    return { ttlSeconds: ttl, renewable: renewable ?? false, expires: ttl > 0 || !!expire_time };
  }

  private withToken(token: string): AuthedRequest {
    return { headers: { 'X-Vault-Token': token } };
  }

  /** One login at a time: concurrent callers share it. */
  private login(): Promise<string> {
    this.loggingIn ??= this.doLogin().finally(() => (this.loggingIn = undefined));
    return this.loggingIn;
  }

  private async doLogin(): Promise<string> {
    const appRole = this.auth.appRole;
    if (!appRole) throw new SecretStoreError('denied', 'Vault token rejected (static VAULT_TOKEN)');
    let body: unknown;
    try {
      body = await this.client.write(`auth/${appRole.mount}/login`, {
        role_id: appRole.roleId,
        secret_id: appRole.secretId,
      });
    } catch (err) {
      // Vault answers 400 to a wrong role or secret id: for us that is "denied", not an outage.
      const clean = sanitiseVaultError(err);
      if (statusOf(clean) !== 400) throw toSecretStoreError('AppRole login', clean);
      throw new SecretStoreError('denied', 'Vault AppRole login was refused', { cause: clean });
    }
    const parsed = authResponse.safeParse(body);
    if (!parsed.success)
      throw new SecretStoreError('corrupt', 'Vault AppRole login: unexpected answer');
    const { client_token, lease_duration, renewable } = parsed.data.auth;
    this.token = client_token;
    this.grantedTtlSeconds = lease_duration;
    this.schedule({ ttlSeconds: lease_duration, renewable, expires: lease_duration > 0 });
    return client_token;
  }

  private schedule(
    lease: Lease,
    next: 'renew' | 'login' = lease.renewable ? 'renew' : 'login',
  ): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.stopped || !lease.expires) return;
    if (next === 'login' && !this.auth.appRole) return; // a static non-renewable token simply runs out
    this.setTimer(lease.ttlSeconds * 1000 * RENEW_AT, () => this.refresh(next, lease));
  }

  private setTimer(ms: number, work: () => Promise<void>): void {
    this.timer = setTimeout(() => void work(), ms);
    this.timer.unref();
  }

  private async refresh(next: 'renew' | 'login', previous: Lease): Promise<void> {
    if (this.stopped) return;
    try {
      if (next === 'login') {
        await this.login();
        return;
      }
      const lease = await this.renew();
      // Max TTL capped the lease: renewing again cannot extend it, so AppRole logs in before it ends.
      const capped = lease.ttlSeconds < this.grantedTtlSeconds;
      if (!capped || !this.auth.appRole) this.schedule(lease);
      else if (lease.ttlSeconds < 1) await this.login();
      else this.schedule(lease, 'login');
    } catch (err) {
      if (this.stopped) return;
      const error = toSecretStoreError(`token ${next}`, err);
      if (this.auth.appRole && next === 'renew') {
        this.logger.warn(`${error.message}; logging in again`);
        await this.refresh('login', previous);
        return;
      }
      if (error.reason === 'denied') {
        // A static token Vault no longer accepts cannot come back; health reports it from now on.
        this.logger.error(`${error.message}; renewal stopped`);
        return;
      }
      this.logger.warn(`${error.message}; retrying in ${this.retryDelayMs} ms`);
      this.setTimer(this.retryDelayMs, () => this.refresh(next, previous));
    }
  }

  private async renew(): Promise<Lease> {
    const token = this.token;
    if (token === undefined) throw new SecretStoreError('denied', 'no Vault token to renew');
    const body: unknown = await this.client.write(
      'auth/token/renew-self',
      {},
      this.withToken(token),
    );
    const parsed = authResponse.safeParse(body);
    if (!parsed.success)
      throw new SecretStoreError('corrupt', 'Vault renew-self: unexpected answer');
    const { lease_duration, renewable } = parsed.data.auth;
    return { ttlSeconds: lease_duration, renewable, expires: lease_duration > 0 };
  }
}
