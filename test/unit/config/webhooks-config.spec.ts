import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeWebhooks, loadConfig, webhookAttempts } from '../../../src/config/config';
import { webhookJobDefaults } from '../../../src/jobs/queues';
import { configProblems } from '../../support/test-config';

const SECRET = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
const base = (extra: Record<string, string | undefined> = {}) => ({
  PUBLIC_URL: 'https://broker.example.com/',
  DATABASE_URL: 'postgres://u@localhost/db',
  REDIS_URL: 'redis://localhost:6379',
  LOCAL_SECRET_KEY: Buffer.alloc(32, 7).toString('base64'),
  AUTH_JWT_SECRET: 'x'.repeat(32),
  ...extra,
});

const problems = (env: Record<string, string | undefined>) => configProblems(base(env));

describe('webhook retries: attempts derived from the base and the window', () => {
  it('defaults (30 s doubling, 24 h) give 12 attempts: 11 retries ending at 61 410 s', () => {
    expect(webhookAttempts(30, 86_400)).toBe(12);
    const waits = Array.from({ length: 11 }, (_, n) => 30 * 2 ** n);
    expect(waits.reduce((a, b) => a + b, 0)).toBe(61_410);
    // One more retry would wait 61 440 s more and end past the window.
    expect(61_410 + 30 * 2 ** 11).toBeGreaterThan(86_400);
  });

  it.each([
    [1, 86_400, 17], // 2^16 − 1 = 65 535 ≤ 86 400 < 131 071
    [1, 10, 4], // waits 1 + 2 + 4 = 7 ≤ 10; + 8 = 15 > 10
    [1, 1, 2], // one retry after 1 s
    [60, 30, 1], // the first retry would already end past the window: the first attempt only
  ])('base %ss, window %ss → %s attempts', (b, w, n) => {
    expect(webhookAttempts(b, w)).toBe(n);
    const sum = b * (2 ** (n - 1) - 1);
    expect(sum).toBeLessThanOrEqual(w);
    expect(sum + b * 2 ** (n - 1)).toBeGreaterThan(w);
  });

  it('BullMQ gets those attempts and exponential backoff on base, without jitter', () => {
    const config = loadConfig(
      base({ WEBHOOK_URL: 'https://hooks.example.com/in', WEBHOOK_SECRET: SECRET }),
    );
    expect(webhookJobDefaults(config)).toMatchObject({
      attempts: 12,
      backoff: { type: 'exponential', delay: 30_000, jitter: 0 },
    });
  });
});

describe('webhook configuration', () => {
  it('is off without WEBHOOK_URL, and the boot log says so', () => {
    const config = loadConfig(base());
    expect(config.webhooks.enabled).toBe(false);
    expect(describeWebhooks(config)).toBe('webhooks: disabled (WEBHOOK_URL not set)');
  });

  it('names WEBHOOK_SECRET when the URL comes without it', () => {
    expect(problems({ WEBHOOK_URL: 'https://hooks.example.com/in' })).toEqual([
      expect.stringMatching(/^WEBHOOK_SECRET is required/),
    ]);
  });

  it('refuses a secret that is not whsec_<base64>, without repeating it', () => {
    const found = problems({
      WEBHOOK_URL: 'https://h.example.com/',
      WEBHOOK_SECRET: 'hunter2-plain',
    });
    expect(found.join('\n')).toMatch(/WEBHOOK_SECRET/);
    expect(found.join('\n')).not.toMatch(/hunter2/);
  });

  it('refuses a URL that is not http(s)', () => {
    expect(
      problems({ WEBHOOK_URL: 'ftp://h.example.com/', WEBHOOK_SECRET: SECRET }).join('\n'),
    ).toMatch(/WEBHOOK_URL/);
  });

  it('reads the secret from WEBHOOK_SECRET_FILE too, and logs only the origin', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cbk-wh-'));
    writeFileSync(join(dir, 'secret'), `${SECRET}\n`);
    const config = loadConfig(
      base({
        WEBHOOK_URL: 'https://hooks.example.com/in/t0ken',
        WEBHOOK_SECRET_FILE: join(dir, 'secret'),
      }),
    );
    expect(config.webhooks).toMatchObject({ enabled: true, secret: SECRET, attempts: 12 });
    expect(describeWebhooks(config)).toMatch(
      /^webhooks: enabled, to https:\/\/hooks\.example\.com;/,
    );
    expect(describeWebhooks(config)).not.toMatch(/t0ken/);
  });
});
