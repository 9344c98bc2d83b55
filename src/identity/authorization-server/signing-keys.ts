import { randomBytes, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { type SecretStore } from '../../secrets/secret-store';

/** Where the authorization server keeps its keys: the secret store, never Postgres. */
export const SIGNING_KEYS_PATH = 'authorization-server/keys';

export interface AuthorizationServerKeys {
  /** Private JWKs, newest first: the first signs, all verify. */
  signing: (JWK & { kid: string; created_at: number })[];
  /** Keys of the library's signed cookies, newest first. */
  cookies: string[];
}

const ALG = 'ES256';

async function newSigningKey(now: number): Promise<AuthorizationServerKeys['signing'][number]> {
  const { privateKey } = await generateKeyPair(ALG, { extractable: true });
  return {
    ...(await exportJWK(privateKey)),
    kid: randomUUID(),
    alg: ALG,
    use: 'sig',
    created_at: now,
  };
}

function encode(keys: AuthorizationServerKeys): Record<string, string> {
  return { signing: JSON.stringify(keys.signing), cookies: JSON.stringify(keys.cookies) };
}

function decode(data: Record<string, string>): AuthorizationServerKeys {
  return {
    signing: JSON.parse(data.signing ?? '[]') as AuthorizationServerKeys['signing'],
    cookies: JSON.parse(data.cookies ?? '[]') as string[],
  };
}

/**
 * The authorization server's keys (SPEC §11): made at first start and kept in the secret store,
 * written with check-and-set so two replicas starting at once agree on one set. Rotation puts a
 * new key first (it signs from the next start of each replica) and keeps the old ones for
 * verification until every token they signed has expired.
 */
export class SigningKeys {
  constructor(
    private readonly store: SecretStore,
    private readonly now: () => number = Date.now,
  ) {}

  async load(): Promise<AuthorizationServerKeys> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const existing = await this.store.read(SIGNING_KEYS_PATH);
      if (existing) return decode(existing.reveal());
      const keys: AuthorizationServerKeys = {
        signing: [await newSigningKey(this.now())],
        cookies: [randomBytes(32).toString('base64url')],
      };
      try {
        await this.store.write(SIGNING_KEYS_PATH, encode(keys), { cas: 0 });
        return keys;
      } catch (err) {
        // Another replica made them first: read theirs.
        if ((err as { reason?: string }).reason !== 'cas_mismatch') throw err;
      }
    }
    throw new Error('the authorization server keys could not be created');
  }

  /**
   * A new signing key first; keys older than `keepSeconds` beyond the newest previous one are
   * dropped (their tokens have expired). Returns the new key's id and the ids kept.
   */
  async rotate(keepSeconds: number): Promise<{ kid: string; kept: string[]; dropped: string[] }> {
    const current = await this.store.read(SIGNING_KEYS_PATH);
    const keys = current ? decode(current.reveal()) : { signing: [], cookies: [] };
    const now = this.now();
    const fresh = await newSigningKey(now);
    // A key retired now still verifies for keepSeconds; one retired earlier than that is gone.
    const [previous, ...older] = keys.signing;
    const kept = previous
      ? [previous, ...older.filter((k) => now - k.created_at < keepSeconds * 1000 * 2)]
      : [];
    const dropped = keys.signing.filter((k) => !kept.includes(k)).map((k) => k.kid);
    const next: AuthorizationServerKeys = {
      signing: [fresh, ...kept],
      cookies: [randomBytes(32).toString('base64url'), ...keys.cookies.slice(0, 1)],
    };
    await this.store.write(SIGNING_KEYS_PATH, encode(next), {
      cas: current?.ref.version ?? 0,
    });
    return { kid: fresh.kid, kept: kept.map((k) => k.kid), dropped };
  }
}

/** The public half of the signing keys, for verifying the broker's own tokens. */
export function publicJwks(keys: AuthorizationServerKeys): { keys: JWK[] } {
  return {
    keys: keys.signing.map(({ kid, kty, crv, x, y, alg, use }) => ({
      kid,
      kty,
      crv,
      x,
      y,
      alg,
      use,
    })),
  };
}
