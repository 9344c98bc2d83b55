import { inspect } from 'node:util';
import { TokenCache } from '../../../src/lifecycle/token-cache';
import { SecretValue } from '../../../src/secrets/secret-store';

const value = (path: string, version: number) =>
  new SecretValue({ path, version }, { access_token: `ya29.secret-${path}-${version}` });

describe('TokenCache', () => {
  it('is keyed by path and version, so a new version is a miss', () => {
    const cache = new TokenCache(10);
    cache.set(value('connections/a', 1));
    expect(cache.get({ path: 'connections/a', version: 1 })?.reveal().access_token).toBe(
      'ya29.secret-connections/a-1',
    );
    expect(cache.get({ path: 'connections/a', version: 2 })).toBeUndefined();
  });

  it('evicts the least recently used entry beyond its capacity', () => {
    const cache = new TokenCache(2);
    cache.set(value('a', 1));
    cache.set(value('b', 1));
    cache.get({ path: 'a', version: 1 });
    cache.set(value('c', 1));
    expect(cache.size).toBe(2);
    expect(cache.get({ path: 'b', version: 1 })).toBeUndefined();
    expect(cache.get({ path: 'a', version: 1 })).toBeDefined();
  });

  it('drops older versions after a refresh and never prints a secret', () => {
    const cache = new TokenCache(10);
    cache.set(value('a', 1));
    cache.set(value('a', 2));
    cache.dropOlder('a', 2);
    expect(cache.get({ path: 'a', version: 1 })).toBeUndefined();
    expect(cache.get({ path: 'a', version: 2 })).toBeDefined();
    expect(JSON.stringify(cache)).not.toContain('ya29');
    expect(inspect(cache, { depth: 10 })).not.toContain('ya29');
  });
});

describe('TokenCache contents', () => {
  it('keeps only what a token read returns, never refresh tokens or client secrets', () => {
    const cache = new TokenCache(10);
    cache.set(
      new SecretValue(
        { path: 'connections/x', version: 3 },
        {
          access_token: 'ya29.kept',
          token_type: 'Bearer',
          expires_at: '2030-01-01T00:00:00.000Z',
          scope: 'a b',
          refresh_token: '1//dropped',
          client_secret: 'dropped-client-secret',
          private_key: '-----BEGIN PRIVATE KEY-----',
        },
      ),
    );
    expect(cache.get({ path: 'connections/x', version: 3 })?.reveal()).toEqual({
      access_token: 'ya29.kept',
      token_type: 'Bearer',
      expires_at: '2030-01-01T00:00:00.000Z',
      scope: 'a b',
    });
  });
});

describe('TokenCache with a driver’s token fields', () => {
  it('keeps exactly the fields the driver presents, nothing a refresh alone needs', () => {
    const cache = new TokenCache(10);
    cache.set(
      new SecretValue(
        { path: 'connections/aws', version: 1 },
        {
          access_key_id: 'ASIAKEPT',
          secret_access_key: 'kept-secret',
          session_token: 'kept-token',
          expires_at: '2030-01-01T00:00:00.000Z',
          region: 'eu-west-1',
          role_arn: 'arn:aws:iam::1:role/dropped',
          external_id: 'cbk-dropped',
        },
      ),
      ['access_key_id', 'secret_access_key', 'session_token', 'expires_at', 'region'],
    );
    expect(Object.keys(cache.get({ path: 'connections/aws', version: 1 })?.reveal() ?? {})).toEqual(
      ['access_key_id', 'secret_access_key', 'session_token', 'expires_at', 'region'],
    );
    expect(JSON.stringify(cache)).not.toContain('kept-secret');
  });
});
