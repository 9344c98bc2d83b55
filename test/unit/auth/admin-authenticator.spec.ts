import argon2 from 'argon2';
import bcrypt from 'bcryptjs';
import Fastify from 'fastify';
import { type DataSource } from 'typeorm';
import { AdminAuthenticator, verifyAdminPassword } from '../../../src/auth/admin-authenticator';
import { adminOnRequestHook } from '../../../src/auth/admin-hook';
import { ApiKeysService } from '../../../src/auth/api-keys.service';
import { type AuthenticatedRequest } from '../../../src/auth/authenticated-request';
import { AuthFailureAudit } from '../../../src/auth/auth-failure-audit';
import { ApiKeyEntity } from '../../../src/database/entities/api-key.entity';
import { type TestDataSource, openTestDataSource } from '../../support/postgres';
import { AuditStub } from './audit-stub';

const PASSWORD = 'correct horse battery staple';

function basic(user: string, password: string): string {
  return Buffer.from(`${user}:${password}`).toString('base64');
}

describe('AdminAuthenticator', () => {
  let db: TestDataSource;
  let ds: DataSource;
  let apiKeys: ApiKeysService;
  let argonHash: string;
  let bcryptHash: string;

  beforeAll(async () => {
    db = await openTestDataSource();
    ds = db.ds;
    apiKeys = new ApiKeysService(ds.getRepository(ApiKeyEntity));
    argonHash = await argon2.hash(PASSWORD);
    bcryptHash = await bcrypt.hash(PASSWORD, 4);
  });
  afterAll(async () => {
    await db.close();
  });

  function authenticator(passwordHash: string, audit = new AuditStub(), now = Date.now) {
    let verifications = 0;
    const failures = new AuthFailureAudit(audit);
    const admin = new AdminAuthenticator({ user: 'ops', passwordHash }, apiKeys, failures, {
      now,
      cacheTtlMs: 1000,
      verifyPassword: (hash, password) => {
        verifications++;
        return verifyAdminPassword(hash, password);
      },
    });
    // Failures are audited in aggregate, written per minute: `flushed()` writes them now.
    const flushed = async () => {
      await failures.flush();
      return audit;
    };
    return { admin, audit, flushed, verifications: () => verifications };
  }

  describe('verifyAdminPassword', () => {
    it('checks argon2 and bcrypt ($2a$, $2b$, $2y$) hashes', async () => {
      expect(await verifyAdminPassword(argonHash, PASSWORD)).toBe(true);
      expect(await verifyAdminPassword(argonHash, 'wrong')).toBe(false);
      expect(await verifyAdminPassword(bcryptHash, PASSWORD)).toBe(true);
      expect(await verifyAdminPassword(bcryptHash, 'wrong')).toBe(false);
      for (const variant of ['$2a$', '$2y$']) {
        expect(await verifyAdminPassword(bcryptHash.replace(/^\$2b\$/, variant), PASSWORD)).toBe(
          true,
        );
      }
    });

    it('refuses unknown or malformed hashes instead of throwing', async () => {
      expect(await verifyAdminPassword(PASSWORD, PASSWORD)).toBe(false);
      expect(await verifyAdminPassword('$argon2id$garbage', PASSWORD)).toBe(false);
      expect(await verifyAdminPassword('$2b$garbage', PASSWORD)).toBe(false);
    });
  });

  it.each([
    ['argon2', () => argonHash],
    ['bcrypt', () => bcryptHash],
  ])('accepts the admin with a %s hash', async (_name, hash) => {
    const { admin } = authenticator(hash());
    await expect(admin.verifyBasic(basic('ops', PASSWORD))).resolves.toEqual({
      kind: 'admin_basic',
      user: 'ops',
    });
  });

  it('refuses a wrong password and audits it without the password', async () => {
    const { admin, audit, flushed } = authenticator(argonHash);
    await expect(admin.verifyBasic(basic('ops', 'hunter2-wrong'))).resolves.toBeNull();
    await flushed();
    expect(audit.rows).toEqual([
      expect.objectContaining({
        actorType: 'system',
        action: 'auth.failed',
        outcome: 'failure',
        errorCode: 'unauthenticated',
        details: expect.objectContaining({ method: 'basic' }),
      }),
    ]);
    expect(audit.text()).not.toContain('hunter2-wrong');
  });

  it('refuses a wrong user even with the right password', async () => {
    const { admin, verifications } = authenticator(bcryptHash);
    await expect(admin.verifyBasic(basic('root', PASSWORD))).resolves.toBeNull();
    await expect(admin.verifyBasic(basic('ops ', PASSWORD))).resolves.toBeNull();
    // The hash is checked even for a wrong user, so timing does not reveal the user name.
    expect(verifications()).toBe(2);
  });

  it('refuses malformed Basic credentials', async () => {
    const { admin } = authenticator(argonHash);
    await expect(admin.verifyBasic(Buffer.from('no-colon').toString('base64'))).resolves.toBeNull();
    await expect(admin.verifyBasic('%%%')).resolves.toBeNull();
  });

  it('remembers a success briefly, then verifies again', async () => {
    let now = 1_000_000;
    const { admin, verifications } = authenticator(argonHash, new AuditStub(), () => now);
    const header = basic('ops', PASSWORD);
    await admin.verifyBasic(header);
    await admin.verifyBasic(header);
    expect(verifications()).toBe(1);
    now += 1001;
    await expect(admin.verifyBasic(header)).resolves.not.toBeNull();
    expect(verifications()).toBe(2);
  });

  it('never caches a failure', async () => {
    const { admin, verifications } = authenticator(argonHash);
    const header = basic('ops', 'wrong');
    await admin.verifyBasic(header);
    await admin.verifyBasic(header);
    expect(verifications()).toBe(2);
  });

  it('refuses Basic when no admin is configured', async () => {
    const admin = new AdminAuthenticator(undefined, apiKeys, new AuthFailureAudit(new AuditStub()));
    await expect(admin.verifyBasic(basic('ops', PASSWORD))).resolves.toBeNull();
  });

  describe('authenticateAdmin (the Bull Board hook)', () => {
    it('accepts Basic admin and an API key with the admin scope', async () => {
      const { admin } = authenticator(argonHash);
      await expect(
        admin.authenticateAdmin({ authorization: `Basic ${basic('ops', PASSWORD)}` }),
      ).resolves.toEqual({ kind: 'admin_basic', user: 'ops' });
      const { key, apiKey } = await apiKeys.create('dashboard', ['admin']);
      await expect(
        admin.authenticateAdmin({ authorization: `Bearer ${key}` }),
      ).resolves.toMatchObject({
        kind: 'api_key',
        keyId: apiKey.id,
      });
    });

    it('refuses keys without admin, revoked keys, JWTs and nothing', async () => {
      const { admin, audit, flushed } = authenticator(argonHash);
      const reader = await apiKeys.create('reader', ['connections:read', 'tokens:read']);
      await expect(
        admin.authenticateAdmin({ authorization: `Bearer ${reader.key}` }),
      ).resolves.toBeNull();

      const gone = await apiKeys.create('gone', ['admin']);
      await apiKeys.revoke(gone.apiKey.id);
      await expect(
        admin.authenticateAdmin({ authorization: `Bearer ${gone.key}` }),
      ).resolves.toBeNull();
      await flushed();
      expect(audit.rows.at(-1)?.details).toEqual({
        method: 'api_key',
        reason: 'unknown or revoked API key',
        key_prefix: gone.apiKey.prefix,
        source: 'unknown',
        count: 1,
        minute: expect.any(String),
      });
      expect(audit.text()).not.toContain(gone.key);

      await expect(
        admin.authenticateAdmin({ authorization: 'Bearer eyJhbGciOi.x.y' }),
      ).resolves.toBeNull();
      await expect(admin.authenticateAdmin({})).resolves.toBeNull();
      await expect(admin.authenticateAdmin({ authorization: 'Digest abc' })).resolves.toBeNull();
    });
  });

  describe('adminOnRequestHook (raw Fastify, outside Nest)', () => {
    it('lets an admin through with the caller set, and challenges anyone else', async () => {
      const { admin } = authenticator(argonHash);
      const server = Fastify();
      try {
        await server.register(async (scope) => {
          scope.addHook('onRequest', adminOnRequestHook(admin));
          scope.get('/admin/queues', async (request) => (request as AuthenticatedRequest).caller);
        });
        server.get('/elsewhere', async () => ({ open: true }));

        const denied = await server.inject({ method: 'GET', url: '/admin/queues' });
        expect(denied.statusCode).toBe(401);
        expect(denied.headers['www-authenticate']).toMatch(
          /^Basic realm="credential-broker admin"/,
        );
        expect(denied.headers['content-type']).toContain('application/problem+json');
        expect(denied.json()).toMatchObject({
          status: 401,
          type: expect.stringMatching(/unauthenticated$/),
        });

        const wrong = await server.inject({
          method: 'GET',
          url: '/admin/queues',
          headers: { authorization: `Basic ${basic('ops', 'nope')}` },
        });
        expect(wrong.statusCode).toBe(401);

        const allowed = await server.inject({
          method: 'GET',
          url: '/admin/queues',
          headers: { authorization: `Basic ${basic('ops', PASSWORD)}` },
        });
        expect(allowed.statusCode).toBe(200);
        expect(allowed.json()).toEqual({ kind: 'admin_basic', user: 'ops' });

        expect((await server.inject({ method: 'GET', url: '/elsewhere' })).statusCode).toBe(200);
      } finally {
        await server.close();
      }
    });
  });
});
