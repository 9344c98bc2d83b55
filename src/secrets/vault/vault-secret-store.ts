import { readFileSync } from 'node:fs';
import NodeVault from 'node-vault';
import { z } from 'zod';
import type { AppConfig } from '../../config/config';
import {
  SecretStoreError,
  SecretValue,
  type SecretData,
  type SecretRef,
  type SecretStore,
  type SecretStoreHealth,
  type WriteOptions,
} from '../secret-store';
import { failureOf, sanitiseVaultError, statusOf, toSecretStoreError } from './vault-errors';
import { VaultSession } from './vault-session';
import { vaultTransport } from './vault-transport';

export type VaultStoreConfig = Extract<AppConfig['secretStore'], { kind: 'vault' }>;

const secretData = z.record(z.string(), z.string());
const readResponse = z.object({
  data: z.object({
    data: secretData.nullable(),
    metadata: z.object({
      version: z.number().int(),
      deletion_time: z.string().optional(),
      destroyed: z.boolean().optional(),
    }),
  }),
});
const writeResponse = z.object({ data: z.object({ version: z.number().int().positive() }) });
const listResponse = z.object({ data: z.object({ keys: z.array(z.string()) }) });
const healthResponse = z.object({ initialized: z.boolean(), sealed: z.boolean() });

/**
 * The secret store on HashiCorp Vault KV v2 (`<kvMount>/data/<pathPrefix>/<path>`). Writes use
 * check-and-set; `destroy` deletes the metadata, which destroys every version.
 */
export class VaultSecretStore implements SecretStore {
  readonly kind = 'vault' as const;
  private readonly client: NodeVault.client;
  private readonly session: VaultSession;

  constructor(
    private readonly config: VaultStoreConfig,
    options: { retryDelayMs?: number } = {},
  ) {
    this.client = NodeVault({
      endpoint: config.addr.replace(/\/+$/, ''),
      namespace: config.namespace,
      // LIST as `GET ?list=1`: proxies and our transport need no custom verb.
      noCustomHTTPVerbs: true,
      // node-vault's default is the `debug` module: DEBUG=node-vault would print every body it
      // writes (tokens, client secrets) and its request options. A no-op keeps that shut.
      debug: () => undefined,
      'request-promise': vaultTransport({
        timeoutMs: config.timeoutMs,
        ca: config.caCert ? readFileSync(config.caCert, 'utf8') : undefined,
      }),
    });
    // node-vault falls back to $VAULT_TOKEN: the token goes per request (VaultSession), never here.
    this.client.token = '';
    this.session = new VaultSession(
      this.client,
      {
        token: config.token,
        tokenFile: config.tokenFile,
        appRole: config.appRole,
        kubernetes: config.kubernetes,
      },
      options.retryDelayMs,
    );
  }

  async start(): Promise<void> {
    try {
      await this.session.start();
    } catch (err) {
      const error = toSecretStoreError('start', err);
      // Wrong credentials are a configuration error: stop the boot. An outage is not: calls log in
      // lazily and /health/ready reports it until Vault is back.
      if (error.reason === 'denied') throw error;
    }
  }

  async stop(): Promise<void> {
    this.session.stop();
  }

  async read(path: string, version?: number): Promise<SecretValue | null> {
    const url = this.url('data', path) + (version === undefined ? '' : `?version=${version}`);
    let body: unknown;
    try {
      body = await this.session.run((o) => this.client.read(url, o));
    } catch (err) {
      // 404: no such path, or that version is deleted/destroyed (Vault still sends its metadata).
      if (statusOf(sanitiseVaultError(err)) === 404) return null;
      throw toSecretStoreError('read', err);
    }
    const parsed = readResponse.safeParse(body);
    if (!parsed.success)
      throw new SecretStoreError('corrupt', `Vault read of ${path}: unexpected answer`);
    const { data, metadata } = parsed.data.data;
    if (data === null || metadata.destroyed || (metadata.deletion_time ?? '') !== '') return null;
    return new SecretValue({ path, version: metadata.version }, data);
  }

  async write(path: string, data: SecretData, options: WriteOptions = {}): Promise<SecretRef> {
    const payload = {
      data,
      ...(options.cas === undefined ? {} : { options: { cas: options.cas } }),
    };
    let body: unknown;
    try {
      body = await this.session.run((o) => this.client.write(this.url('data', path), payload, o));
    } catch (err) {
      const error = toSecretStoreError('write', err);
      if (error.reason === 'cas_mismatch') {
        throw new SecretStoreError(
          'cas_mismatch',
          `Vault write of ${path}: version is not ${options.cas}`,
          {
            cause: error.cause,
          },
        );
      }
      throw error;
    }
    const parsed = writeResponse.safeParse(body);
    if (!parsed.success)
      throw new SecretStoreError('corrupt', `Vault write of ${path}: unexpected answer`);
    return { path, version: parsed.data.data.version };
  }

  async destroy(path: string): Promise<void> {
    try {
      await this.session.run((o) => this.client.delete(this.url('metadata', path), o));
    } catch (err) {
      if (statusOf(sanitiseVaultError(err)) === 404) return;
      throw toSecretStoreError('destroy', err);
    }
  }

  async list(prefix: string): Promise<string[]> {
    let body: unknown;
    try {
      body = await this.session.run((o) => this.client.list(this.url('metadata', prefix), o));
    } catch (err) {
      if (statusOf(sanitiseVaultError(err)) === 404) return [];
      throw toSecretStoreError('list', err);
    }
    const parsed = listResponse.safeParse(body);
    if (!parsed.success)
      throw new SecretStoreError('corrupt', `Vault list of ${prefix}: unexpected answer`);
    return [...parsed.data.data.keys].sort();
  }

  async health(): Promise<SecretStoreHealth> {
    try {
      // node-vault resolves sys/health with the body whatever the status (429 standby, 503 sealed).
      const body: unknown = await this.client.request({
        path: '/sys/health?standbyok=true&perfstandbyok=true',
        method: 'GET',
      });
      const parsed = healthResponse.safeParse(body);
      if (!parsed.success) return down('unavailable', 'sys/health gave no status');
      if (!parsed.data.initialized) return down('sealed', 'Vault is not initialised');
      if (parsed.data.sealed) return down('sealed', 'Vault is sealed');
      await this.session.lookup();
      return { ok: true, kind: 'vault' };
    } catch (err) {
      const error = toSecretStoreError('health check', err);
      return down(failureOf(error), error.message);
    }
  }

  /** `<kvMount>/<data|metadata>/<pathPrefix>/<path>`, each segment URL-encoded. */
  private url(area: 'data' | 'metadata', path: string): string {
    const segments = [
      this.config.kvMount,
      area,
      ...this.config.pathPrefix.split('/'),
      ...path.split('/'),
    ];
    const clean = segments.filter((s) => s !== '');
    if (clean.some((s) => s === '.' || s === '..')) {
      throw new SecretStoreError('denied', `invalid secret path: ${path}`);
    }
    return clean.map(encodeURIComponent).join('/');
  }
}

function down(
  reason: Exclude<SecretStoreHealth, { ok: true }>['reason'],
  detail: string,
): SecretStoreHealth {
  return { ok: false, kind: 'vault', reason, detail };
}
