import { Controller, Post } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { ThrottlerModule } from '@nestjs/throttler';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { Redis } from 'ioredis';
import { Public } from '../../../src/auth/decorators';
import { ProblemFilter } from '../../../src/common/problem.filter';
import { LOGIN_THROTTLER, LoginRateLimit } from '../../../src/auth/login-rate-limit';

@Controller('login')
class LoginController {
  @Public()
  @Post()
  @LoginRateLimit()
  login(): { ok: true } {
    return { ok: true };
  }
}

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Two api replicas sharing Redis must share one budget per caller. */
describe('login rate limit (Redis-backed)', () => {
  const prefix = `cbk_rl_${process.pid}_${Date.now()}:`;
  const clients: Redis[] = [];
  const apps: NestFastifyApplication[] = [];

  async function replica(): Promise<NestFastifyApplication> {
    const client = new Redis(REDIS_URL, { keyPrefix: prefix });
    clients.push(client);
    const moduleRef = await Test.createTestingModule({
      imports: [
        ThrottlerModule.forRoot({
          throttlers: [{ name: LOGIN_THROTTLER, ttl: 60_000, limit: 3 }],
          storage: new ThrottlerStorageRedisService(client),
        }),
      ],
      controllers: [LoginController],
      providers: [{ provide: APP_FILTER, useClass: ProblemFilter }],
    }).compile();
    const app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), {
      logger: false,
    });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    apps.push(app);
    return app;
  }

  afterAll(async () => {
    await Promise.all(apps.map((a) => a.close()));
    const keys = await clients[0].keys('*');
    if (keys.length > 0) await clients[0].del(...keys.map((k) => k.slice(prefix.length)));
    for (const c of clients) c.disconnect();
  });

  it('counts requests across replicas and answers the fourth with 429 problem+json', async () => {
    const [a, b] = [await replica(), await replica()];
    const statuses: number[] = [];
    for (const app of [a, b, a, b]) {
      const res = await app.inject({
        method: 'POST',
        url: '/login',
        payload: {},
        remoteAddress: '10.0.0.1',
      });
      statuses.push(res.statusCode);
      if (res.statusCode === 429) {
        expect(res.headers['content-type']).toContain('application/problem+json');
        expect(res.json()).toMatchObject({ code: 'rate_limited', status: 429 });
      }
    }
    expect(statuses).toEqual([201, 201, 201, 429]);
    const other = await b.inject({
      method: 'POST',
      url: '/login',
      payload: {},
      remoteAddress: '10.0.0.2',
    });
    expect(other.statusCode).toBe(201);
  });
});
