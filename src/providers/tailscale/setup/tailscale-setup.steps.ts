import { setupSecretPathFor } from '../../../lifecycle/connection-writer';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../config/config';
import { type ConnectionEntity } from '../../../database/entities';
import {
  SECRET_STORE,
  type SecretData,
  type SecretStore,
  SecretStoreError,
} from '../../../secrets/secret-store';
import { backoffMs } from '../../../common/backoff';
import { Clock } from '../../../common/clock';
import {
  SetupCancelled,
  type SetupContext,
  type SetupStep,
  SetupStepError,
  type StepOutcome,
  secretStoreStepError,
} from '../../setup-step';
import { TailscaleApiError, TailscaleClient } from '../tailscale-client';
import { tagOwnersOf, withTagOwner } from './tailscale-policy-file';

/** The key of setup's secret under which the id of the auth key it created is kept. */
export const TAILSCALE_AUTH_KEY_ID = 'auth_key_id';

/** 90 days, as SPEC §5 asks of the auth key. */
export const AUTH_KEY_EXPIRY_SECONDS = 90 * 24 * 3600;
/** Who owns the tag when the ACL names nobody: the tailnet's admins. */
export const DEFAULT_TAG_OWNER = 'autogroup:admin';
const ACL_ROUNDS = 5;
const ACL_RETRY_BASE_MS = 250;

/**
 * Where setup keeps its own secrets (auth key, SSH private key): beside the connection's token
 * set, never in it, so a setup write never races a refresh's check-and-set on that path.
 */
export function tailscaleSetupSecretPath(connectionId: string): string {
  return setupSecretPathFor(connectionId);
}

/** The tailnet path segment the connection was validated with (`-` is the credential's own). */
async function tailnetOf(secrets: SecretStore, connection: ConnectionEntity): Promise<string> {
  const secret = await readOrRetry(secrets, connection.vaultPath);
  return secret?.data.tailnet || '-';
}

async function readOrRetry(
  secrets: SecretStore,
  path: string,
): Promise<{ data: SecretData; version: number } | null> {
  try {
    const value = await secrets.read(path);
    return value ? { data: value.reveal(), version: value.ref.version } : null;
  } catch (err) {
    throw secretStoreStepError(err);
  }
}

/**
 * Merges keys into the setup secret while the connection is still connected: checked before the
 * write, and after it — a disconnect that destroyed the path in between would otherwise leave a
 * secret written after it, so then the path is destroyed again and the step cancelled.
 */
async function mergeWhileConnected(
  ctx: SetupContext,
  secrets: SecretStore,
  patch: SecretData,
): Promise<void> {
  await ctx.assertConnected();
  await mergeSetupSecret(secrets, ctx.connection.id, patch);
  try {
    await ctx.assertConnected();
  } catch (err) {
    if (err instanceof SetupCancelled) {
      await secrets.destroy(tailscaleSetupSecretPath(ctx.connection.id)).catch(() => undefined);
    }
    throw err;
  }
}

/** Merges keys into the setup secret with check-and-set, so two writers never drop each other's key. */
async function mergeSetupSecret(
  secrets: SecretStore,
  connectionId: string,
  patch: SecretData,
): Promise<void> {
  const path = tailscaleSetupSecretPath(connectionId);
  for (let round = 0; round < 3; round++) {
    const current = await readOrRetry(secrets, path);
    try {
      await secrets.write(path, { ...current?.data, ...patch }, { cas: current?.version ?? 0 });
      return;
    } catch (err) {
      if (err instanceof SecretStoreError && err.reason === 'cas_mismatch') continue;
      throw secretStoreStepError(err);
    }
  }
  throw new SetupStepError('secret_store_conflict', 'The setup secret kept changing', {
    retryable: true,
  });
}

function tailscaleError(err: unknown, what: string): SetupStepError {
  if (err instanceof SetupStepError) return err;
  const status = err instanceof TailscaleApiError ? err.status : 0;
  if (status === 403) {
    return new SetupStepError(
      'tailscale_missing_scope',
      `Tailscale denied ${what}; the OAuth client needs the policy_file and auth_keys scopes`,
      { retryable: false },
    );
  }
  if (status === 0 || status === 401 || status === 429 || status >= 500) {
    return new SetupStepError(
      'tailscale_unavailable',
      `Tailscale did not complete ${what} (${status || 'network error'})`,
      { retryable: true },
    );
  }
  return new SetupStepError(
    'tailscale_request_rejected',
    `Tailscale rejected ${what} (${status})`,
    { retryable: false },
  );
}

/**
 * acl_tag_owner: TAILSCALE_TAG gets an owner in the policy file, read-modify-write on the ETag.
 * The file is the tailnet owner's HuJSON (comments, trailing commas, their layout): it is read and
 * written as text, and the owner is added by one edit in place, so nothing else in it changes.
 */
@Injectable()
export class AclTagOwnerStep implements SetupStep {
  readonly name = 'acl_tag_owner';

  constructor(
    private readonly tailscale: TailscaleClient,
    private readonly clock: Clock,
    @Inject(SECRET_STORE) private readonly secrets: SecretStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async run(ctx: SetupContext): Promise<StepOutcome> {
    const tag = this.config.tailscale.tag;
    const tailnet = await tailnetOf(this.secrets, ctx.connection);
    for (let round = 0; round < ACL_ROUNDS; round++) {
      try {
        const token = await ctx.accessToken();
        const acl = await this.tailscale.getAcl(token, tailnet);
        const owners = tagOwnersOf(acl.hujson, tag);
        if (owners.length > 0) {
          await ctx.mergeMetadata({ tag });
          return { status: 'succeeded', detail: `${tag} is owned by ${owners.join(', ')}` };
        }
        if (acl.etag === '') {
          throw new SetupStepError(
            'tailscale_acl_no_etag',
            'Tailscale sent the policy file without an ETag, so it cannot be updated without ' +
              'risking someone else’s edit; add the tag owner by hand',
            { retryable: false },
          );
        }
        const hujson = withTagOwner(acl.hujson, tag, DEFAULT_TAG_OWNER);
        await this.tailscale.setAcl(token, tailnet, { hujson, etag: acl.etag });
        await ctx.mergeMetadata({ tag });
        return { status: 'succeeded', detail: `${tag} is owned by ${DEFAULT_TAG_OWNER}` };
      } catch (err) {
        // 412: someone edited the ACL between our read and write; read it again.
        if (!(err instanceof TailscaleApiError && err.status === 412))
          throw tailscaleError(err, 'updating the ACL');
      }
      await this.clock.sleep(backoffMs(ACL_RETRY_BASE_MS, round, 10_000));
    }
    throw new SetupStepError(
      'tailscale_acl_conflict',
      'The ACL kept changing while it was being updated',
      { retryable: true },
    );
  }
}

/** auth_key: a reusable, preauthorized, tagged key (90 days) kept in the secret store. */
@Injectable()
export class AuthKeyStep implements SetupStep {
  readonly name = 'auth_key';

  constructor(
    private readonly tailscale: TailscaleClient,
    @Inject(SECRET_STORE) private readonly secrets: SecretStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async run(ctx: SetupContext): Promise<StepOutcome> {
    const tailnet = await tailnetOf(this.secrets, ctx.connection);
    const existing = (await readOrRetry(this.secrets, tailscaleSetupSecretPath(ctx.connection.id)))
      ?.data;
    try {
      const token = await ctx.accessToken();
      if (
        existing?.[TAILSCALE_AUTH_KEY_ID] &&
        (await this.tailscale.keyUsable(token, tailnet, existing[TAILSCALE_AUTH_KEY_ID]))
      ) {
        return { status: 'succeeded', detail: 'the auth key from an earlier run is still valid' };
      }
      const key = await this.tailscale.createAuthKey(
        token,
        tailnet,
        this.config.tailscale.tag,
        AUTH_KEY_EXPIRY_SECONDS,
      );
      try {
        await mergeWhileConnected(ctx, this.secrets, {
          auth_key: key.key,
          [TAILSCALE_AUTH_KEY_ID]: key.id,
          auth_key_expires_at: key.expires,
        });
      } catch (err) {
        // Disconnected meanwhile: the key just made must not outlive the connection.
        if (err instanceof SetupCancelled) {
          await this.tailscale.deleteKey(token, tailnet, key.id).catch(() => undefined);
        }
        throw err;
      }
      return { status: 'succeeded', detail: `auth key created, expires ${key.expires}` };
    } catch (err) {
      if (err instanceof SetupCancelled || err instanceof SetupStepError) throw err;
      throw tailscaleError(err, 'creating an auth key');
    }
  }
}

/** ssh_key: an Ed25519 key pair; the private key in the store, the public key in metadata. */
@Injectable()
export class SshKeyStep implements SetupStep {
  readonly name = 'ssh_key';

  constructor(@Inject(SECRET_STORE) private readonly secrets: SecretStore) {}

  async run(ctx: SetupContext): Promise<StepOutcome> {
    const existing = (await readOrRetry(this.secrets, tailscaleSetupSecretPath(ctx.connection.id)))
      ?.data;
    if (existing?.ssh_private_key && existing.ssh_public_key) {
      await ctx.mergeMetadata({ ssh_public_key: existing.ssh_public_key });
      return { status: 'succeeded', detail: 'the SSH key from an earlier run is kept' };
    }
    const { privateKey } = generateKeyPairSync('ed25519');
    const jwk = privateKey.export({ format: 'jwk' });
    const openssh = toOpenSshEd25519(jwk.x ?? '');
    await mergeWhileConnected(ctx, this.secrets, {
      // OpenSSH's own format: `ssh -i` does not load an Ed25519 key in PKCS#8 PEM.
      ssh_private_key: toOpenSshPrivateKeyEd25519(jwk.d ?? '', jwk.x ?? ''),
      ssh_public_key: openssh,
    });
    await ctx.mergeMetadata({ ssh_public_key: openssh });
    return { status: 'succeeded', detail: 'SSH key pair created' };
  }
}

const SSH_COMMENT = 'credential-broker';
const uint32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
/** An SSH wire string: uint32 length, then the bytes. */
const field = (b: Buffer) => Buffer.concat([uint32(b.length), b]);
const ed25519PublicBlob = (raw: Buffer) =>
  Buffer.concat([field(Buffer.from('ssh-ed25519')), field(raw)]);

/** `ssh-ed25519 AAAA…`: the RFC 8709 wire form (string type, string key) in base64. */
export function toOpenSshEd25519(jwkX: string): string {
  const blob = ed25519PublicBlob(Buffer.from(jwkX, 'base64url'));
  return `ssh-ed25519 ${blob.toString('base64')} ${SSH_COMMENT}`;
}

/**
 * `-----BEGIN OPENSSH PRIVATE KEY-----`: openssh-key-v1 (OpenSSH's PROTOCOL.key), unencrypted,
 * one Ed25519 key (private part: the 32-byte seed followed by the public key).
 */
export function toOpenSshPrivateKeyEd25519(jwkD: string, jwkX: string): string {
  const seed = Buffer.from(jwkD, 'base64url');
  const pub = Buffer.from(jwkX, 'base64url');
  const check = randomBytes(4);
  const unpadded = Buffer.concat([
    check,
    check,
    field(Buffer.from('ssh-ed25519')),
    field(pub),
    field(Buffer.concat([seed, pub])),
    field(Buffer.from(SSH_COMMENT)),
  ]);
  const padding = Buffer.from(
    Array.from({ length: (8 - (unpadded.length % 8)) % 8 }, (_, i) => i + 1),
  );
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    field(Buffer.from('none')), // cipher
    field(Buffer.from('none')), // kdf
    field(Buffer.alloc(0)), // kdf options
    uint32(1),
    field(ed25519PublicBlob(pub)),
    field(Buffer.concat([unpadded, padding])),
  ]);
  const lines = body.toString('base64').match(/.{1,70}/g) ?? [];
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
}
