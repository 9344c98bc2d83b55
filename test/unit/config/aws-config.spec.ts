import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, describeProviders, loadConfig } from '../../../src/config/config';

const base = (extra: Record<string, string | undefined> = {}) => ({
  PUBLIC_URL: 'https://broker.example.com/',
  DATABASE_URL: 'postgres://u@localhost/db',
  REDIS_URL: 'redis://localhost:6379',
  LOCAL_SECRET_KEY: Buffer.alloc(32, 7).toString('base64'),
  AUTH_JWT_SECRET: 'x'.repeat(32),
  ...extra,
});
const KEY_ID = 'AKIAABCDEFGHIJKLMNOP';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY';

describe('AWS configuration (SPEC §13)', () => {
  it('is off without anything naming an AWS identity, and the boot log says so', () => {
    const config = loadConfig(base());
    expect(config.aws).toMatchObject({ enabled: false, region: 'us-east-1' });
    expect(describeProviders(config).find((l) => l.startsWith('aws:'))).toMatch(/^aws: disabled \(no AWS identity configured/); // prettier-ignore
  });

  it.each([
    [{ AWS_ENABLED: 'true' }, /the SDK default chain/],
    [{ AWS_BROKER_PRINCIPAL_ARN: 'arn:aws:iam::111111111111:role/broker' }, /principal arn:aws:iam::111111111111:role\/broker/], // prettier-ignore
    [{ AWS_STS_ENDPOINT: 'https://sts-fips.us-east-1.amazonaws.com' }, /STS https:\/\/sts-fips/],
    [{ AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET }, /access key AKIA… \(AWS_ACCESS_KEY_ID\)/], // prettier-ignore
    [{ AWS_ROLE_ARN: 'arn:aws:iam::1:role/r', AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/token' }, /web identity for arn:aws:iam::1:role\/r/], // prettier-ignore
    [{ AWS_PROFILE: 'broker' }, /profile broker/],
  ])('is on with %j', (env, line) => {
    const config = loadConfig(base(env));
    expect(config.aws.enabled).toBe(true);
    const boot = describeProviders(config).find((l) => l.startsWith('aws:')) ?? '';
    expect(boot).toMatch(/^aws: enabled/);
    expect(boot).toMatch(line);
    expect(boot).not.toContain(SECRET);
  });

  it('AWS_ENABLED=false wins, and GetCallerIdentity names the principal when none is set', () => {
    expect(loadConfig(base({ AWS_ENABLED: 'false', AWS_PROFILE: 'p' })).aws.enabled).toBe(false);
    expect(describeProviders(loadConfig(base({ AWS_PROFILE: 'p' }))).join('\n')).toContain(
      'principal from GetCallerIdentity',
    );
  });

  it('takes the keys from _FILE and hands them to the SDK; a key id needs its secret', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cbk-aws-'));
    writeFileSync(join(dir, 'secret'), `${SECRET}\n`);
    const config = loadConfig(base({ AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY_FILE: join(dir, 'secret') })); // prettier-ignore
    expect(config.aws.keys).toEqual({ accessKeyId: KEY_ID, secretAccessKey: SECRET, sessionToken: undefined }); // prettier-ignore
    expect(() => loadConfig(base({ AWS_ACCESS_KEY_ID: KEY_ID }))).toThrow(ConfigError);
    expect(() => loadConfig(base({ AWS_REGION: 'Europe' }))).toThrow(/AWS_REGION/);
    expect(() => loadConfig(base({ AWS_BROKER_PRINCIPAL_ARN: 'broker' }))).toThrow(/AWS_BROKER_PRINCIPAL_ARN/); // prettier-ignore
  });
});
