import {
  type ArgumentsHost,
  Catch,
  Controller,
  Delete,
  type ExceptionFilter,
  Get,
  HttpCode,
  type INestApplication,
  Module,
  Post,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { getRepositoryToken } from '@nestjs/typeorm';
import bcrypt from 'bcryptjs';
import { type FastifyReply } from 'fastify';
import { SignJWT } from 'jose';
import { type DataSource } from 'typeorm';
import { AuditService } from '../../../src/audit/audit.service';
import { ApiKeysService } from '../../../src/auth/api-keys.service';
import { AuthFailureAudit } from '../../../src/auth/auth-failure-audit';
import { BrokerTokenVerifier } from '../../../src/auth/broker-tokens';
import { AuthModule } from '../../../src/auth/auth.module';
import { type Caller, actingUserId } from '../../../src/auth/caller';
import {
  AUTH_METADATA_KEYS,
  ActsForUser,
  AdminOnly,
  CurrentCaller,
  Public,
  RequireScopes,
} from '../../../src/auth/decorators';
import { BrokerError } from '../../../src/common/error-codes';
import { APP_CONFIG } from '../../../src/config/config';
import { ApiKeyEntity } from '../../../src/database/entities/api-key.entity';
import { type ApiKeyScope } from '../../../src/database/enums';
import { type TestDataSource, openTestDataSource } from '../../support/postgres';
import { AuditStub } from './audit-stub';

const SECRET = 'guard-test-secret-of-at-least-32-characters';
const ADMIN_PASSWORD = 'admin-password-for-the-guard-test';

@Controller('t')
class ProbeController {
  @Public()
  @Get('public')
  open(): { ok: true } {
    return { ok: true };
  }

  @Get('read')
  read(@CurrentCaller() caller: Caller): Caller {
    return caller;
  }

  @Post('write')
  @HttpCode(200)
  write(@CurrentCaller() caller: Caller): Caller {
    return caller;
  }

  @Delete('write')
  remove(@CurrentCaller() caller: Caller): Caller {
    return caller;
  }

  @Get('token')
  @RequireScopes('tokens:read')
  token(@CurrentCaller() caller: Caller): Caller {
    return caller;
  }

  @Get('mine')
  @ActsForUser()
  mine(@CurrentCaller() caller: Caller): { acting: string | null } {
    return { acting: actingUserId(caller) ?? null };
  }

  @Get('admin')
  @AdminOnly()
  admin(@CurrentCaller() caller: Caller): Caller {
    return caller;
  }
}

@Public()
@Controller('open')
class OpenController {
  @Get()
  index(): { ok: true } {
    return { ok: true };
  }
}

/** Stands in for the lead's problem+json filter: status, headers and code from BrokerError. */
@Catch(BrokerError)
class BrokerErrorFilter implements ExceptionFilter {
  catch(err: BrokerError, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    void reply
      .status(err.status)
      .headers(err.options.headers ?? {})
      .send({ code: err.code, detail: err.detail ?? null });
  }
}

class TestInfraModule {}

describe('AuthGuard', () => {
  let db: TestDataSource;
  let ds: DataSource;
  let app: NestFastifyApplication;
  let audit: AuditStub;
  let keys: ApiKeysService;
  const keyFor: Partial<Record<string, string>> = {};

  async function createKey(name: string, scopes: ApiKeyScope[]): Promise<string> {
    const { key } = await keys.create(name, scopes);
    keyFor[name] = key;
    return key;
  }

  function jwt(sub: string): Promise<string> {
    return new SignJWT({ sub })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(SECRET));
  }

  function call(
    method: 'GET' | 'HEAD' | 'POST' | 'DELETE',
    url: string,
    headers: Record<string, string> = {},
  ) {
    return app.inject({ method, url, headers });
  }

  const bearer = (token: string | undefined) => ({ authorization: `Bearer ${token ?? ''}` });
  const basicAuth = (user: string, password: string) => ({
    authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
  });

  beforeAll(async () => {
    db = await openTestDataSource();
    ds = db.ds;
    keys = new ApiKeysService(ds.getRepository(ApiKeyEntity));
    audit = new AuditStub();
    const passwordHash = await bcrypt.hash(ADMIN_PASSWORD, 4);
    const infra = {
      module: TestInfraModule,
      global: true,
      providers: [
        {
          provide: APP_CONFIG,
          useValue: { auth: { jwtSecret: SECRET, admin: { user: 'ops', passwordHash } } },
        },
        { provide: getRepositoryToken(ApiKeyEntity), useValue: ds.getRepository(ApiKeyEntity) },
        { provide: AuditService, useValue: audit },
      ],
      exports: [APP_CONFIG, getRepositoryToken(ApiKeyEntity), AuditService],
    };
    @Module({ imports: [infra, AuthModule], controllers: [ProbeController, OpenController] })
    class ProbeAppModule {}

    const moduleRef = await Test.createTestingModule({ imports: [ProbeAppModule] }).compile();
    app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter());
    app.useGlobalFilters(new BrokerErrorFilter());
    await app.init();
    await app.getHttpAdapter().getInstance().ready();

    await createKey('reader', ['connections:read']);
    await createKey('writer', ['connections:write']);
    await createKey('tokens', ['tokens:read']);
    await createKey('admin', ['admin']);
    await createKey('revoked', ['admin']);
    await keys.revoke((await keys.list()).find((k) => k.name === 'revoked')?.id ?? 'missing');
  });

  afterAll(async () => {
    await (app as INestApplication | undefined)?.close();
    await db.close();
  });

  beforeEach(async () => {
    await app.get(AuthFailureAudit).flush(); // earlier tests' failures, written per minute
    audit.rows.length = 0;
  });

  it('exports the metadata keys it reads', () => {
    const reflector = new Reflector();
    const proto = ProbeController.prototype;
    expect(reflector.get(AUTH_METADATA_KEYS.isPublic, proto.open)).toBe(true);
    expect(reflector.get(AUTH_METADATA_KEYS.requiredScopes, proto.token)).toEqual(['tokens:read']);
    expect(reflector.get(AUTH_METADATA_KEYS.adminOnly, proto.admin)).toBe(true);
    expect(reflector.get(AUTH_METADATA_KEYS.actsForUser, proto.mine)).toBe(true);
    expect(reflector.get(AUTH_METADATA_KEYS.isPublic, OpenController)).toBe(true);
    expect(reflector.get(AUTH_METADATA_KEYS.isPublic, proto.read)).toBeUndefined();
  });

  describe('without credentials', () => {
    it('lets public routes and public controllers through', async () => {
      expect((await call('GET', '/t/public')).statusCode).toBe(200);
      expect((await call('GET', '/open')).statusCode).toBe(200);
    });

    it('answers 401 with a Bearer challenge', async () => {
      const res = await call('GET', '/t/read');
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect(res.json()).toMatchObject({ code: 'unauthenticated' });
    });

    it('answers 401 to garbage and unknown schemes', async () => {
      for (const authorization of ['Bearer', 'Bearer ', 'Token abc', 'garbage', 'Bearer a b']) {
        const res = await call('GET', '/t/read', { authorization });
        expect(res.statusCode).toBe(401);
        expect(res.headers['www-authenticate']).toBe('Bearer');
      }
    });

    it('offers Basic as well on admin routes, so a browser asks for a password', async () => {
      const res = await call('GET', '/t/admin');
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer, Basic realm=/);
    });
  });

  describe('users (JWT)', () => {
    it('are not limited by scopes', async () => {
      const headers = bearer(await jwt('user-1'));
      for (const [method, url] of [
        ['GET', '/t/read'],
        ['POST', '/t/write'],
        ['DELETE', '/t/write'],
        ['GET', '/t/token'],
      ] as const) {
        const res = await call(method, url, headers);
        expect(res.statusCode).toBe(200);
        expect(res.json()).toEqual({ kind: 'user', userId: 'user-1' });
      }
    });

    it('act for themselves, whatever X-On-Behalf-Of says', async () => {
      const res = await call('GET', '/t/mine', {
        ...bearer(await jwt('user-1')),
        'x-on-behalf-of': 'user-2',
      });
      expect(res.json()).toEqual({ acting: 'user-1' });
    });

    it('are refused admin routes with 403', async () => {
      const res = await call('GET', '/t/admin', bearer(await jwt('user-1')));
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ code: 'forbidden' });
    });

    it('are answered from the verifier’s cache on the next request, admin routes still refused', async () => {
      const token = await jwt('user-cached');
      expect((await call('GET', '/t/read', bearer(token))).statusCode).toBe(200);
      const decodes = jest.spyOn(BrokerTokenVerifier.prototype, 'claimsToBeOurs');
      try {
        const again = await call('GET', '/t/read', bearer(token));
        expect(again.json()).toEqual({ kind: 'user', userId: 'user-cached' });
        expect((await call('GET', '/t/admin', bearer(token))).statusCode).toBe(403);
        expect(decodes).not.toHaveBeenCalled();
        // A token not seen before is still told apart first.
        await call('GET', '/t/read', bearer(await jwt('user-new')));
        expect(decodes).toHaveBeenCalledTimes(1);
      } finally {
        decodes.mockRestore();
      }
    });

    it('with a bad token get 401 and a Bearer challenge', async () => {
      const forged = await new SignJWT({ sub: 'user-1' })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode('not-the-secret-not-the-secret-not-the'));
      const res = await call('GET', '/t/read', bearer(forged));
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect(res.body).not.toContain(forged.split('.')[1]);
    });
  });

  describe('API keys', () => {
    it.each([
      // key, method, url, status
      ['reader', 'GET', '/t/read', 200],
      ['reader', 'HEAD', '/t/read', 200],
      ['reader', 'POST', '/t/write', 403],
      ['reader', 'DELETE', '/t/write', 403],
      ['reader', 'GET', '/t/token', 403],
      ['writer', 'POST', '/t/write', 200],
      ['writer', 'DELETE', '/t/write', 200],
      ['writer', 'GET', '/t/read', 403],
      ['writer', 'HEAD', '/t/read', 403],
      ['tokens', 'GET', '/t/token', 200],
      ['tokens', 'GET', '/t/read', 403],
      ['reader', 'GET', '/t/admin', 403],
      ['admin', 'GET', '/t/read', 200],
      ['admin', 'POST', '/t/write', 200],
      ['admin', 'DELETE', '/t/write', 200],
      ['admin', 'GET', '/t/token', 200],
      ['admin', 'GET', '/t/admin', 200],
    ] as const)('%s: %s %s → %i', async (name, method, url, status) => {
      const res = await call(method, url, bearer(keyFor[name]));
      expect(res.statusCode).toBe(status);
      if (status === 403 && method !== 'HEAD')
        expect(res.json()).toMatchObject({ code: 'forbidden' });
    });

    it('put the key on the request, never its hash', async () => {
      const res = await call('GET', '/t/read', bearer(keyFor.reader));
      const body = res.json();
      expect(body).toMatchObject({
        kind: 'api_key',
        keyName: 'reader',
        scopes: ['connections:read'],
      });
      expect(Object.keys(body).sort()).toEqual(['keyId', 'keyName', 'kind', 'scopes']);
    });

    it('refuse a revoked key with 401 and audit it without the key', async () => {
      const key = keyFor.revoked ?? '';
      const res = await call('GET', '/t/read', bearer(key));
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
      await app.get(AuthFailureAudit).flush();
      expect(audit.rows).toEqual([
        expect.objectContaining({
          actorType: 'system',
          action: 'auth.failed',
          outcome: 'failure',
          errorCode: 'unauthenticated',
          details: {
            method: 'api_key',
            reason: 'unknown or revoked API key',
            key_prefix: key.slice(0, 12),
            source: '127.0.0.1',
            count: 1,
            minute: expect.any(String),
          },
        }),
      ]);
      expect(audit.text()).not.toContain(key);
      expect(res.body).not.toContain(key);
    });

    it('refuse an unknown or malformed key with 401', async () => {
      const unknown = `cbk_${'Z'.repeat(43)}`;
      expect((await call('GET', '/t/read', bearer(unknown))).statusCode).toBe(401);
      expect((await call('GET', '/t/read', bearer('cbk_short'))).statusCode).toBe(401);
      await app.get(AuthFailureAudit).flush();
      expect(audit.rows).toHaveLength(2);
      expect(audit.rows[0].details).toMatchObject({ key_prefix: 'cbk_ZZZZZZZZ' });
      expect(audit.rows[1].details).not.toHaveProperty('key_prefix');
    });

    describe('X-On-Behalf-Of', () => {
      it('is required on routes that act for a user', async () => {
        const res = await call('GET', '/t/mine', bearer(keyFor.reader));
        expect(res.statusCode).toBe(400);
        expect(res.json()).toEqual({
          code: 'validation_failed',
          detail: 'X-On-Behalf-Of is required when an API key calls this route',
        });
      });

      it('names the user the key acts for', async () => {
        const res = await call('GET', '/t/mine', {
          ...bearer(keyFor.reader),
          'x-on-behalf-of': 'user-42',
        });
        expect(res.statusCode).toBe(200);
        expect(res.json()).toEqual({ acting: 'user-42' });
        const longest = 'u'.repeat(256);
        const ok = await call('GET', '/t/mine', {
          ...bearer(keyFor.reader),
          'x-on-behalf-of': longest,
        });
        expect(ok.json()).toEqual({ acting: longest });
      });

      it('must be 1-256 visible ASCII characters', async () => {
        for (const value of ['', 'two words', 'u'.repeat(257), 'caf\u00e9', 'tab\there']) {
          const res = await call('GET', '/t/mine', {
            ...bearer(keyFor.reader),
            'x-on-behalf-of': value,
          });
          expect(res.statusCode).toBe(400);
          expect(res.json()).toMatchObject({ code: 'validation_failed' });
        }
      });

      it('is still checked, and honoured, on other routes when sent', async () => {
        const bad = await call('GET', '/t/read', {
          ...bearer(keyFor.reader),
          'x-on-behalf-of': 'a b',
        });
        expect(bad.statusCode).toBe(400);
        const good = await call('GET', '/t/read', {
          ...bearer(keyFor.reader),
          'x-on-behalf-of': 'user-7',
        });
        expect(good.json()).toMatchObject({ kind: 'api_key', onBehalfOf: 'user-7' });
      });

      it('checks the scope before the header', async () => {
        const res = await call('GET', '/t/mine', bearer(keyFor.writer));
        expect(res.statusCode).toBe(403);
      });
    });
  });

  describe('HTTP Basic admin', () => {
    it('is accepted on admin routes', async () => {
      const res = await call('GET', '/t/admin', basicAuth('ops', ADMIN_PASSWORD));
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ kind: 'admin_basic', user: 'ops' });
    });

    it('is refused with 401 and audited when wrong, without the password', async () => {
      const res = await call('GET', '/t/admin', basicAuth('ops', 'wrong-password-xyz'));
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/Basic realm=/);
      await app.get(AuthFailureAudit).flush();
      expect(audit.rows).toEqual([
        expect.objectContaining({
          action: 'auth.failed',
          details: expect.objectContaining({ method: 'basic' }),
        }),
      ]);
      expect(audit.text()).not.toContain('wrong-password-xyz');
      const wrongUser = await call('GET', '/t/admin', basicAuth('root', ADMIN_PASSWORD));
      expect(wrongUser.statusCode).toBe(401);
    });

    it('is not accepted on other routes, even when right', async () => {
      const res = await call('GET', '/t/read', basicAuth('ops', ADMIN_PASSWORD));
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
    });
  });
});
