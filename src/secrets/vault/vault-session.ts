import { readFile, stat } from 'node:fs/promises';
import { Logger } from '@nestjs/common';
import type NodeVault from 'node-vault';
import { z } from 'zod';
import { SecretStoreError } from '../secret-store';
import { sanitiseVaultError, statusOf, toSecretStoreError } from './vault-errors';
import { type Clock, SYSTEM_CLOCK } from '../../common/clock';

export interface VaultAuthConfig {
  token?: string;
  /**
   * VAULT_TOKEN_FILE: where `token` came from. Vault Agent and the Vault Secrets Operator rotate
   * this file, so it is looked at again (at most once a second, and after a 403) before use.
   */
  tokenFile?: string;
  appRole?: { roleId: string; secretId: string; mount: string };
  /** Kubernetes auth: the pod's service account JWT, re-read at every login since it rotates. */
  kubernetes?: { role: string; mount: string; jwtFile: string };
}

/** A way to get a fresh token from Vault (AppRole, Kubernetes): `auth/<mount>/login`. */
interface LoginMethod {
  name: string;
  path: string;
  credentials: () => Promise<Record<string, string>>;
}

/** How often a VAULT_TOKEN_FILE is stat'ed at most (a 403 always re-reads it). */
const TOKEN_FILE_CHECK_MS = 1_000;

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
 * The broker's Vault token: a static VAULT_TOKEN (optionally from a file that rotates), or an
 * AppRole or Kubernetes login. Keeps it alive (renew-self at 2/3 of its TTL; a login method logs
 * in again when renewal fails or max TTL caps the lease) and retries a call once after a fresh
 * login, or a changed token file, when Vault answers 403.
 */
export class VaultSession {
  private readonly logger = new Logger('VaultSecretStore');
  private token: string | undefined;
  /** The lease length the last login or lookup granted; a renewal shorter than this hit max TTL. */
  private grantedTtlSeconds = 0;
  private loggingIn: Promise<string> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly loginMethod: LoginMethod | undefined;
  private tokenFileSeen: { mtimeMs: number; size: number; checkedAt: number } | undefined;

  constructor(
    private readonly client: NodeVault.client,
    private readonly auth: VaultAuthConfig,
    private readonly retryDelayMs = 5_000,
    private readonly clock: Pick<Clock, 'now'> = SYSTEM_CLOCK,
  ) {
    this.loginMethod = loginMethodOf(auth);
    if (!this.loginMethod && !auth.token && !auth.tokenFile) {
      throw new Error(
        'Vault needs VAULT_TOKEN, VAULT_ROLE_ID and VAULT_SECRET_ID, or VAULT_K8S_ROLE',
      );
    }
    this.token = this.loginMethod ? undefined : auth.token;
  }

  /** Logs in (AppRole, Kubernetes) or looks the static token up, then schedules renewal. */
  async start(): Promise<void> {
    this.stopped = false;
    if (this.loginMethod) {
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

  /**
   * Runs a Vault call with the current token; after a 403, logs in again (or re-reads the token
   * file) and retries once.
   */
  async run<T>(call: (options: AuthedRequest) => Promise<T>): Promise<T> {
    await this.reloadTokenFile(false);
    const token = this.token ?? (await this.login());
    try {
      return await call(this.withToken(token));
    } catch (err) {
      const clean = sanitiseVaultError(err);
      if (statusOf(clean) !== 403) throw clean;
      let fresh: string;
      if (this.loginMethod) {
        // Another call may already have replaced the token this one used.
        fresh = this.token !== undefined && this.token !== token ? this.token : await this.login();
      } else {
        await this.reloadTokenFile(true);
        if (this.token === undefined || this.token === token) throw clean;
        fresh = this.token;
      }
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
    const method = this.loginMethod;
    if (!method) throw new SecretStoreError('denied', 'Vault token rejected (static VAULT_TOKEN)');
    const credentials = await method.credentials();
    let body: unknown;
    try {
      body = await this.client.write(method.path, credentials);
    } catch (err) {
      // Vault answers 400 (AppRole: wrong role or secret id) or 403 (Kubernetes: a JWT or role it
      // does not accept) to a refused login: for us that is "denied", not an outage.
      const clean = sanitiseVaultError(err);
      const status = statusOf(clean);
      if (status !== 400 && status !== 403) throw toSecretStoreError(`${method.name} login`, clean);
      throw new SecretStoreError('denied', `Vault ${method.name} login was refused`, {
        cause: clean,
      });
    }
    const parsed = authResponse.safeParse(body);
    if (!parsed.success)
      throw new SecretStoreError('corrupt', `Vault ${method.name} login: unexpected answer`);
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
    if (next === 'login' && !this.loginMethod) return; // a static non-renewable token simply runs out
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
      // Max TTL capped the lease: renewing again cannot extend it, so a login method logs in before it ends.
      const capped = lease.ttlSeconds < this.grantedTtlSeconds;
      if (!capped || !this.loginMethod) this.schedule(lease);
      else if (lease.ttlSeconds < 1) await this.login();
      else this.schedule(lease, 'login');
    } catch (err) {
      if (this.stopped) return;
      const error = toSecretStoreError(`token ${next}`, err);
      if (this.loginMethod && next === 'renew') {
        this.logger.warn(`${error.message}; logging in again`);
        await this.refresh('login', previous);
        return;
      }
      if (error.reason === 'denied' && this.auth.tokenFile) {
        // Whoever writes the file (Vault Agent, the operator) may have replaced the token already.
        if (await this.reloadTokenFile(true)) {
          await this.refreshFromFile();
          return;
        }
        this.logger.warn(`${error.message}; waiting for ${this.auth.tokenFile} to change`);
        this.setTimer(this.retryDelayMs, () => this.refresh(next, previous));
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

  /** Looks a token newly read from the file up and schedules its renewal. */
  private async refreshFromFile(): Promise<void> {
    try {
      const lease = await this.lookup();
      this.grantedTtlSeconds = lease.ttlSeconds;
      this.schedule(lease);
    } catch (err) {
      if (this.stopped) return;
      this.logger.warn(`${toSecretStoreError('token lookup', err).message}; retrying`);
      this.setTimer(this.retryDelayMs, () => this.refreshFromFile());
    }
  }

  /**
   * Takes the token from VAULT_TOKEN_FILE again when the file changed (mtime or size) since it was
   * last read; `force` reads it whatever its mtime says. True when the token changed. An
   * unreadable or empty file keeps the token in hand: the next 403 says whether it still works.
   */
  private async reloadTokenFile(force: boolean): Promise<boolean> {
    const file = this.auth.tokenFile;
    if (!file) return false;
    const now = this.clock.now();
    const seen = this.tokenFileSeen;
    if (!force && seen && now - seen.checkedAt < TOKEN_FILE_CHECK_MS) return false;
    try {
      const info = await stat(file);
      this.tokenFileSeen = { mtimeMs: info.mtimeMs, size: info.size, checkedAt: now };
      if (!force && seen && info.mtimeMs === seen.mtimeMs && info.size === seen.size) return false;
      const token = (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
      if (token === '' || token === this.token) return false;
      this.token = token;
      this.logger.log(`Vault token reloaded from VAULT_TOKEN_FILE`);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
      this.logger.warn(
        `VAULT_TOKEN_FILE: cannot read ${file} (${code}); keeping the current token`,
      );
      return false;
    }
  }

  private async renew(): Promise<Lease> {
    // Renewal is rare: renew the token the file holds now, not one it has since replaced.
    await this.reloadTokenFile(true);
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

function loginMethodOf(auth: VaultAuthConfig): LoginMethod | undefined {
  const { appRole, kubernetes } = auth;
  if (appRole) {
    return {
      name: 'AppRole',
      path: `auth/${appRole.mount}/login`,
      credentials: () => Promise.resolve({ role_id: appRole.roleId, secret_id: appRole.secretId }),
    };
  }
  if (kubernetes) {
    return {
      name: 'Kubernetes',
      path: `auth/${kubernetes.mount}/login`,
      credentials: async () => ({ role: kubernetes.role, jwt: await readJwt(kubernetes.jwtFile) }),
    };
  }
  return undefined;
}

/** The service account token, read at every login: the kubelet rotates the projected file. */
async function readJwt(file: string): Promise<string> {
  try {
    const jwt = (await readFile(file, 'utf8')).trim();
    if (jwt !== '') return jwt;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new SecretStoreError(
      'denied',
      `Vault Kubernetes login: cannot read VAULT_K8S_TOKEN_FILE ${file} (${code})`,
    );
  }
  throw new SecretStoreError(
    'denied',
    `Vault Kubernetes login: VAULT_K8S_TOKEN_FILE ${file} is empty`,
  );
}
