import { createHash, randomBytes } from 'node:crypto';
import { type Clock } from '../common/clock';
import { type AppConfig } from '../config/config';
import { type RedisService } from '../redis/redis.module';
import { type SessionIdentity } from './caller';

/** A live session as Redis keeps it: the person, and when it ends whatever happens. */
export interface Session {
  identity: SessionIdentity;
  createdAt: number;
  /** Absolute end (SESSION_TTL_SECONDS after sign-in), in ms. */
  expiresAt: number;
}

const SESSION_ID_FORMAT = /^[A-Za-z0-9_-]{43}$/;

/**
 * Reads a session and slides its idle expiry in one round trip: the key lives
 * min(idle, absolute end - now); past the absolute end it is deleted. KEYS[1] the session key;
 * ARGV: now (ms), idle (ms).
 */
const TOUCH_SCRIPT = `
local v = redis.call('HMGET', KEYS[1], 'data', 'exp')
if not v[1] then return nil end
local left = tonumber(v[2]) - tonumber(ARGV[1])
if left <= 0 then redis.call('DEL', KEYS[1]) return nil end
redis.call('PEXPIRE', KEYS[1], math.min(tonumber(ARGV[2]), left))
return v[1]
`;

/**
 * Broker sessions (SPEC §9) in Redis, so any api replica serves any request: the cookie carries
 * 32 random bytes, Redis keeps only their SHA-256 with the person; idle and absolute expiry.
 */
export class SessionStore {
  private readonly idleMs: number;
  private readonly ttlMs: number;

  constructor(
    private readonly redis: RedisService,
    private readonly clock: Clock,
    config: Pick<AppConfig, 'login'>,
  ) {
    this.idleMs = config.login.sessionIdleSeconds * 1000;
    this.ttlMs = config.login.sessionTtlSeconds * 1000;
  }

  /** Starts a session; the returned id goes into the cookie and nowhere else. */
  async create(identity: SessionIdentity): Promise<{ id: string; session: Session }> {
    const id = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    const session: Session = { identity, createdAt: now, expiresAt: now + this.ttlMs };
    const key = this.key(id);
    await this.redis.client
      .multi()
      .hset(key, { data: JSON.stringify(session), exp: String(session.expiresAt) })
      .pexpire(key, Math.min(this.idleMs, this.ttlMs))
      .exec();
    return { id, session };
  }

  /** The session of a cookie value, its idle expiry slid; null when unknown, idle or past its end. */
  async resolve(id: string): Promise<Session | null> {
    if (!SESSION_ID_FORMAT.test(id)) return null;
    const data = (await this.redis.client.eval(
      TOUCH_SCRIPT,
      1,
      this.key(id),
      String(this.clock.now()),
      String(this.idleMs),
    )) as string | null;
    return data === null ? null : (JSON.parse(data) as Session);
  }

  async destroy(id: string): Promise<void> {
    if (!SESSION_ID_FORMAT.test(id)) return;
    await this.redis.client.del(this.key(id));
  }

  private key(id: string): string {
    return `session:${createHash('sha256').update(id).digest('hex')}`;
  }
}
