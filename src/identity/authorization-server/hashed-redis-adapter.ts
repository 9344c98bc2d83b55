import { createHash } from 'node:crypto';
import { type Redis } from 'ioredis';

/**
 * oidc-provider's storage adapter (its documented `Adapter` interface), on Redis. Every
 * artifact's id — for codes, refresh tokens, device codes and sessions the id *is* the secret
 * value — is stored only as its SHA-256, and the payload's own copies of it (`jti`, a device
 * flow's `userCode`) are taken out before writing and put back from the lookup on reading, so no
 * token value of the authorization server reaches Redis (SPEC §8). Written by hand because
 * hashing the ids is the point; the library ships only an in-memory development adapter.
 */
type Payload = Record<string, unknown>;

const ID_IS_JTI = '__jti';

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/** Models whose payload is kept with their grant, so revoking the grant finds them. */
const GRANTABLE = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
]);

/**
 * A device code found by its user code gets this stand-in for its id: the index holds the
 * storage key (a hash), never the device code, so the id itself cannot be given back. Saving
 * or consuming through the stand-in reaches the same record.
 */
const STORED_AS = 'stored-as:';

export function hashedRedisAdapter(redis: Redis, prefix = 'oauth') {
  const key = (model: string, id: string) =>
    id.startsWith(STORED_AS)
      ? `${prefix}:${model}:${id.slice(STORED_AS.length)}`
      : `${prefix}:${model}:${sha256(id)}`;
  const grantKey = (grantId: string) => `${prefix}:grant:${sha256(grantId)}`;
  const userCodeKey = (userCode: string) => `${prefix}:DeviceCode:user-code:${sha256(userCode)}`;
  const uidKey = (model: string, uid: string) => `${prefix}:${model}:uid:${sha256(uid)}`;

  return class HashedRedisAdapter {
    constructor(private readonly model: string) {}

    async upsert(id: string, payload: Payload, expiresIn?: number): Promise<void> {
      const { jti, userCode, ...rest } = payload;
      // `jti` is the id itself: only the fact that there was one is kept.
      const stored: Payload = { ...rest, ...(jti === undefined ? {} : { [ID_IS_JTI]: true }) };
      const k = key(this.model, id);
      const multi = redis.multi();
      if (expiresIn) multi.set(k, JSON.stringify(stored), 'EX', expiresIn);
      else multi.set(k, JSON.stringify(stored));
      if (GRANTABLE.has(this.model) && typeof payload.grantId === 'string') {
        const g = grantKey(payload.grantId);
        multi.rpush(g, k);
        if (expiresIn) multi.expire(g, expiresIn, 'GT');
        if (expiresIn) multi.expire(g, expiresIn, 'NX');
      }
      if (typeof userCode === 'string') {
        const hashed = k.slice(`${prefix}:${this.model}:`.length);
        if (expiresIn) multi.set(userCodeKey(userCode), hashed, 'EX', expiresIn);
        else multi.set(userCodeKey(userCode), hashed);
      }
      if (typeof payload.uid === 'string') {
        const hashed = k.slice(`${prefix}:${this.model}:`.length);
        if (expiresIn) multi.set(uidKey(this.model, payload.uid), hashed, 'EX', expiresIn);
        else multi.set(uidKey(this.model, payload.uid), hashed);
      }
      await multi.exec();
    }

    async find(id: string): Promise<Payload | undefined> {
      return this.read(id);
    }

    /** The device code of a user code, through the index of hashes (see STORED_AS). */
    async findByUserCode(userCode: string): Promise<Payload | undefined> {
      const hashed = await redis.get(userCodeKey(userCode));
      if (hashed === null) return undefined;
      const payload = await this.read(`${STORED_AS}${hashed}`);
      return payload && { ...payload, userCode };
    }

    async findByUid(uid: string): Promise<Payload | undefined> {
      const hashed = await redis.get(uidKey(this.model, uid));
      return hashed === null ? undefined : this.read(`${STORED_AS}${hashed}`);
    }

    async consume(id: string): Promise<void> {
      const k = key(this.model, id);
      const raw = await redis.get(k);
      if (raw === null) return;
      const payload = JSON.parse(raw) as Payload;
      payload.consumed = Math.floor(Date.now() / 1000);
      await redis.set(k, JSON.stringify(payload), 'KEEPTTL');
    }

    async destroy(id: string): Promise<void> {
      await redis.del(key(this.model, id));
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      const g = grantKey(grantId);
      const keys = await redis.lrange(g, 0, -1);
      await redis.del(...keys, g);
    }

    private async read(id: string): Promise<Payload | undefined> {
      const raw = await redis.get(key(this.model, id));
      if (raw === null) return undefined;
      // Found through an index: the stand-in is all there is of the id (see STORED_AS).
      const { [ID_IS_JTI]: idIsJti, ...payload } = JSON.parse(raw) as Payload;
      return idIsJti === true ? { ...payload, jti: id } : payload;
    }
  };
}
