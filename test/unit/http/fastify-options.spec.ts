import fastify from 'fastify';
import { fastifyServerOptions } from '../../../src/http/fastify-options';
import { testConfig } from '../../support/test-config';

async function clientIp(env: Record<string, string>): Promise<string> {
  const app = fastify(fastifyServerOptions(testConfig({}, env)));
  app.get('/ip', (request) => ({ ip: request.ip }));
  const res = await app.inject({
    url: '/ip',
    remoteAddress: '10.0.0.5',
    headers: { 'x-forwarded-for': '203.0.113.9' },
  });
  await app.close();
  return res.json<{ ip: string }>().ip;
}

describe('TRUST_PROXY', () => {
  it('ignores X-Forwarded-For by default', async () => {
    expect(await clientIp({})).toBe('10.0.0.5');
  });

  it('believes X-Forwarded-For from a configured proxy only', async () => {
    expect(await clientIp({ TRUST_PROXY: '10.0.0.0/8' })).toBe('203.0.113.9');
    expect(await clientIp({ TRUST_PROXY: '192.168.0.0/16' })).toBe('10.0.0.5');
    expect(await clientIp({ TRUST_PROXY: '1' })).toBe('203.0.113.9');
  });
});
