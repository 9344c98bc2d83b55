import { type JWK, SignJWT, exportJWK, exportSPKI, generateKeyPair } from 'jose';
import { BrokerError } from '../../../src/common/error-codes';
import { JwtVerifier } from '../../../src/auth/jwt-verifier';
import { type JwksServer, startJwksServer } from './jwks-server';

const ISSUER = 'https://id.example.test/';
const AUDIENCE = 'credential-broker';
const SECRET = 'a-shared-secret-of-at-least-32-characters!!';

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

interface SigningKey {
  alg: 'RS256' | 'ES256';
  kid: string;
  privateKey: PrivateKey;
  jwk: JWK;
}

async function signingKey(alg: 'RS256' | 'ES256', kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { alg, kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { sub: 'user-1', iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 300, ...overrides };
}

function sign(payload: Record<string, unknown>, key: SigningKey): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid: key.kid })
    .sign(key.privateKey);
}

function signHs256(payload: Record<string, unknown>, secret = SECRET): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(secret));
}

async function rejection(promise: Promise<unknown>): Promise<BrokerError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof BrokerError) return err;
    throw err;
  }
  throw new Error('expected the promise to reject');
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe('JwtVerifier', () => {
  let rs: SigningKey;
  let es: SigningKey;
  let server: JwksServer;

  beforeAll(async () => {
    rs = await signingKey('RS256', 'rs-1');
    es = await signingKey('ES256', 'es-1');
    server = await startJwksServer([rs.jwk, es.jwk]);
  });
  afterAll(() => server.close());

  const jwksVerifier = () =>
    new JwtVerifier({ jwksUrl: server.url, issuer: ISSUER, audience: AUDIENCE });

  describe('with a JWKS', () => {
    it('accepts an RS256 token and returns its subject', async () => {
      await expect(jwksVerifier().verify(await sign(claims(), rs))).resolves.toEqual({
        userId: 'user-1',
      });
    });

    it('accepts an ES256 token', async () => {
      const token = await sign(claims({ sub: 'user-es' }), es);
      await expect(jwksVerifier().verify(token)).resolves.toEqual({ userId: 'user-es' });
    });

    it('caches the key set across verifications', async () => {
      const verifier = jwksVerifier();
      const before = server.fetches();
      await verifier.verify(await sign(claims(), rs));
      await verifier.verify(await sign(claims(), es));
      await verifier.verify(await sign(claims(), rs));
      expect(server.fetches() - before).toBe(1);
    });

    it('rejects an expired token, but tolerates a few seconds of skew', async () => {
      const now = Math.floor(Date.now() / 1000);
      const expired = await rejection(
        jwksVerifier().verify(await sign(claims({ exp: now - 60 }), rs)),
      );
      expect(expired.code).toBe('unauthenticated');
      expect(expired.detail).toBe('token expired');
      await expect(
        jwksVerifier().verify(await sign(claims({ exp: now - 2 }), rs)),
      ).resolves.toEqual({
        userId: 'user-1',
      });
    });

    it('rejects a token without exp', async () => {
      const token = await sign(claims({ exp: undefined }), rs);
      expect((await rejection(jwksVerifier().verify(token))).code).toBe('unauthenticated');
    });

    it('rejects a wrong issuer', async () => {
      const err = await rejection(
        jwksVerifier().verify(await sign(claims({ iss: 'https://evil.test/' }), rs)),
      );
      expect(err.code).toBe('unauthenticated');
      expect(err.detail).toContain('"iss"');
    });

    it('rejects a wrong audience', async () => {
      const err = await rejection(
        jwksVerifier().verify(await sign(claims({ aud: 'someone-else' }), rs)),
      );
      expect(err.code).toBe('unauthenticated');
      expect(err.detail).toContain('"aud"');
    });

    it('rejects a missing, empty or overlong subject', async () => {
      for (const sub of [undefined, '', 'u'.repeat(257)]) {
        const err = await rejection(jwksVerifier().verify(await sign(claims({ sub }), rs)));
        expect(err.code).toBe('unauthenticated');
      }
      const longest = 'u'.repeat(256);
      await expect(
        jwksVerifier().verify(await sign(claims({ sub: longest }), rs)),
      ).resolves.toEqual({
        userId: longest,
      });
    });

    it('rejects a bad signature without echoing the token', async () => {
      const forger = await signingKey('RS256', 'rs-1'); // same kid, different key
      const token = await sign(claims(), forger);
      const err = await rejection(jwksVerifier().verify(token));
      expect(err.code).toBe('unauthenticated');
      expect(err.detail).toBe('token signature is not valid');
      for (const part of token.split('.')) expect(err.message).not.toContain(part);
    });

    it('rejects a tampered payload', async () => {
      const [header, , signature] = (await sign(claims(), rs)).split('.');
      const tampered = `${header}.${b64(claims({ sub: 'admin' }))}.${signature}`;
      expect((await rejection(jwksVerifier().verify(tampered))).code).toBe('unauthenticated');
    });

    it('rejects alg none', async () => {
      const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`;
      const err = await rejection(jwksVerifier().verify(token));
      expect(err.code).toBe('unauthenticated');
      expect(err.detail).toBe('token algorithm not accepted');
    });

    it('rejects HS256 when no secret is configured, even one keyed with the public key', async () => {
      const { publicKey } = await generateKeyPair('RS256', { extractable: true });
      const pem = await exportSPKI(publicKey);
      const token = await signHs256(claims(), pem);
      expect((await rejection(jwksVerifier().verify(token))).detail).toBe(
        'token algorithm not accepted',
      );
    });

    it('rejects garbage', async () => {
      for (const token of ['not-a-jwt', 'a.b.c', '']) {
        expect((await rejection(jwksVerifier().verify(token))).code).toBe('unauthenticated');
      }
    });

    it('rejects a token whose kid is unknown even after a refetch', async () => {
      const stranger = await signingKey('ES256', 'unknown-kid');
      const err = await rejection(
        new JwtVerifier({ jwksUrl: server.url, jwksCooldownMs: 0 }).verify(
          await sign(claims(), stranger),
        ),
      );
      expect(err.code).toBe('unauthenticated');
      expect(err.detail).toBe('no signing key matches the token');
    });

    it('picks up a rotated key: an unknown kid triggers a refetch', async () => {
      const rotation = await startJwksServer([rs.jwk]);
      try {
        const verifier = new JwtVerifier({ jwksUrl: rotation.url, jwksCooldownMs: 0 });
        await verifier.verify(await sign(claims(), rs));
        expect(rotation.fetches()).toBe(1);
        const next = await signingKey('ES256', 'es-2');
        rotation.setKeys([next.jwk]);
        await expect(verifier.verify(await sign(claims({ sub: 'after' }), next))).resolves.toEqual({
          userId: 'after',
        });
        expect(rotation.fetches()).toBe(2);
      } finally {
        await rotation.close();
      }
    });

    it('answers 503, not 401, when the key set cannot be fetched', async () => {
      const down = await startJwksServer([]);
      const url = down.url;
      await down.close();
      const err = await rejection(
        new JwtVerifier({ jwksUrl: url }).verify(await sign(claims(), rs)),
      );
      expect(err.code).toBe('service_unavailable');
    });
  });

  describe('with a shared secret', () => {
    const secretVerifier = () =>
      new JwtVerifier({ jwtSecret: SECRET, issuer: ISSUER, audience: AUDIENCE });

    it('accepts an HS256 token', async () => {
      await expect(secretVerifier().verify(await signHs256(claims()))).resolves.toEqual({
        userId: 'user-1',
      });
    });

    it('rejects another secret, a wrong issuer and an expired token', async () => {
      const now = Math.floor(Date.now() / 1000);
      for (const token of [
        await signHs256(claims(), 'another-secret-of-at-least-32-characters'),
        await signHs256(claims({ iss: 'https://evil.test/' })),
        await signHs256(claims({ aud: 'other' })),
        await signHs256(claims({ exp: now - 60 })),
      ]) {
        expect((await rejection(secretVerifier().verify(token))).code).toBe('unauthenticated');
      }
    });

    it('rejects RS256 when no JWKS is configured', async () => {
      const err = await rejection(secretVerifier().verify(await sign(claims(), rs)));
      expect(err.detail).toBe('token algorithm not accepted');
    });
  });

  describe('with both configured', () => {
    const both = () =>
      new JwtVerifier({
        jwksUrl: server.url,
        jwtSecret: SECRET,
        issuer: ISSUER,
        audience: AUDIENCE,
      });

    it('checks HS256 with the secret and RS256/ES256 against the JWKS', async () => {
      const verifier = both();
      await expect(verifier.verify(await signHs256(claims({ sub: 'hs' })))).resolves.toEqual({
        userId: 'hs',
      });
      await expect(verifier.verify(await sign(claims({ sub: 'rs' }), rs))).resolves.toEqual({
        userId: 'rs',
      });
      await expect(verifier.verify(await sign(claims({ sub: 'es' }), es))).resolves.toEqual({
        userId: 'es',
      });
    });

    it('still enforces issuer and audience in both modes, and refuses other algorithms', async () => {
      const verifier = both();
      expect((await rejection(verifier.verify(await signHs256(claims({ aud: 'x' }))))).code).toBe(
        'unauthenticated',
      );
      expect((await rejection(verifier.verify(await sign(claims({ iss: 'x' }), rs)))).code).toBe(
        'unauthenticated',
      );
      const hs512 = await new SignJWT(claims())
        .setProtectedHeader({ alg: 'HS512' })
        .sign(new TextEncoder().encode(SECRET.repeat(2)));
      expect((await rejection(verifier.verify(hs512))).detail).toBe('token algorithm not accepted');
      const none = `${b64({ alg: 'none' })}.${b64(claims())}.`;
      expect((await rejection(verifier.verify(none))).code).toBe('unauthenticated');
    });
  });
});
