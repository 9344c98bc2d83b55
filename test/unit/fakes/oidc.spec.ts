import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import { CookieJar, followRedirects, followSignIn } from '../../fakes/identity-browser';
import { type FakeEntra, startFakeEntra } from '../../fakes/oidc/fake-entra';
import { type FakeOidc, startFakeOidc } from '../../fakes/oidc/fake-oidc';

/**
 * The OIDC and Entra emulators speak OpenID Connect to the real openid-client v6 as the broker
 * uses it: discovery, an authorization URL with PKCE, state and nonce, the emulator's own
 * auto-consent followed by a fetch-driven browser, the code grant with the id_token checks, and
 * userinfo.
 */

const REDIRECT_URI = 'http://127.0.0.1:1/auth/callback';
const ADA = {
  sub: 'ada-1',
  email: 'ada@example.com',
  email_verified: true,
  name: 'Ada Lovelace',
  preferred_username: 'ada',
};

interface Started {
  url: URL;
  verifier: string;
  state: string;
  nonce: string;
}

async function startSignIn(config: client.Configuration, jar = new CookieJar()) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: 'openid email profile',
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const answer = await followRedirects(url.toString(), {
    cookieJar: jar,
    stopBefore: (u) => u.toString().startsWith(REDIRECT_URI),
  });
  const started: Started = { url: new URL(answer.url), verifier, state, nonce };
  return started;
}

const grant = (config: client.Configuration, s: Started) =>
  client.authorizationCodeGrant(config, s.url, {
    pkceCodeVerifier: s.verifier,
    expectedState: s.state,
    expectedNonce: s.nonce,
    idTokenExpected: true,
  });

const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as Error & { code?: string; error?: string; status?: number },
  );

describe('fake OIDC issuer', () => {
  let oidc: FakeOidc;
  let config: client.Configuration;

  beforeEach(async () => {
    oidc = await startFakeOidc({ accounts: [ADA], redirectUris: [REDIRECT_URI] });
    config = await client.discovery(
      new URL(oidc.issuer),
      oidc.clientId,
      oidc.clientSecret,
      undefined,
      {
        execute: [client.allowInsecureRequests],
      },
    );
  });
  afterEach(() => oidc.close());

  it('signs in with discovery, PKCE, state and nonce, and serves userinfo', async () => {
    expect(config.serverMetadata()).toMatchObject({
      issuer: oidc.issuer,
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
    });
    const started = await startSignIn(config);
    expect(started.url.searchParams.get('iss')).toBe(oidc.issuer);
    const tokens = await grant(config, started);
    const claims = tokens.claims();
    expect(claims).toMatchObject({
      iss: oidc.issuer,
      aud: oidc.clientId,
      nonce: started.nonce,
      ...ADA,
    });
    expect(decodeJwt(tokens.id_token ?? '')).toHaveProperty('email_verified', true);
    const userinfo = await client.fetchUserInfo(config, tokens.access_token, ADA.sub);
    expect(userinfo).toMatchObject(ADA);

    const secrets = oidc.issuedSecrets();
    expect(secrets).toEqual(
      expect.arrayContaining([
        oidc.clientSecret,
        started.url.searchParams.get('code'),
        tokens.access_token,
        tokens.id_token,
      ]),
    );
  });

  it('refuses a replayed code and a wrong PKCE verifier', async () => {
    const first = await startSignIn(config);
    await grant(config, first);
    const replay = await failure(grant(config, first));
    expect(replay).toBeInstanceOf(client.ResponseBodyError);
    expect(replay?.error).toBe('invalid_grant');

    const second = await startSignIn(config);
    const wrong = await failure(
      grant(config, { ...second, verifier: client.randomPKCECodeVerifier() }),
    );
    expect(wrong?.error).toBe('invalid_grant');
  });

  it('signs in whoever signInAs selects, each time (no silent SSO)', async () => {
    oidc.addAccount({ sub: 'bob-2', email: 'bob@example.com', email_verified: false, name: 'Bob' });
    const jar = new CookieJar();
    const asAda = await grant(config, await startSignIn(config, jar));
    expect(asAda.claims()?.sub).toBe('ada-1');
    oidc.signInAs('bob-2');
    const asBob = await grant(config, await startSignIn(config, jar));
    expect(asBob.claims()).toMatchObject({ sub: 'bob-2', email_verified: false });
  });

  it('makes openid-client reject an id_token with a wrong aud, iss, nonce or an expired exp', async () => {
    const past = Math.floor(Date.now() / 1000) - 3600;
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ aud: 'other' }, 'OAUTH_JWT_CLAIM_COMPARISON_FAILED', /"aud"/],
      [{ iss: 'http://127.0.0.1:1/x' }, 'OAUTH_JWT_CLAIM_COMPARISON_FAILED', /"iss"/],
      [{ nonce: 'not-the-nonce' }, 'OAUTH_JWT_CLAIM_COMPARISON_FAILED', /"nonce"/],
      [{ exp: past, iat: past - 60 }, 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED', /"exp"/],
    ];
    for (const [overrides, code, why] of cases) {
      const started = await startSignIn(config);
      oidc.nextIdTokenClaims(overrides);
      const err = await failure(grant(config, started));
      // A ClientError whose cause (oauth4webapi's) names the claim.
      expect(err).toBeInstanceOf(client.ClientError);
      expect(err?.code).toBe(code);
      expect((err?.cause as Error).message).toMatch(why);
    }
    // The override is one-shot and the re-signed token is the issuer's key: the next one passes.
    await expect(grant(config, await startSignIn(config))).resolves.toHaveProperty('id_token');
  });

  it('injects token faults: a status and invalid_grant', async () => {
    oidc.failTokenNext('status', 503);
    // openid-client: a 5xx is not an OAuth error body; the Response is the cause.
    const unavailable = await failure(grant(config, await startSignIn(config)));
    expect(unavailable).toMatchObject({
      code: 'OAUTH_RESPONSE_IS_NOT_CONFORM',
      cause: { status: 503 },
    });
    oidc.failTokenNext('invalid_grant');
    expect((await failure(grant(config, await startSignIn(config))))?.error).toBe('invalid_grant');
  });

  it('cancels with error=access_denied (denyNext and the page Cancel button)', async () => {
    oidc.denyNext();
    const denied = await startSignIn(config);
    expect(denied.url.searchParams.get('error')).toBe('access_denied');
    expect(denied.url.searchParams.get('state')).toBe(denied.state);

    oidc.setConsent('page');
    const jar = new CookieJar();
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid email',
      state: 'st-2',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const shown = await followRedirects(url.toString(), { cookieJar: jar });
    expect(shown.status).toBe(200);
    expect(shown.text).toMatch(/<button[^>]*>Continue as Ada Lovelace<\/button>/);
    expect(shown.text).toMatch(/<button[^>]*>Cancel<\/button>/);
    const post = async (action: string) => {
      const target = new URL(/action="([^"]*\/abort)"/.exec(shown.text)?.[1] ?? '', shown.url);
      target.pathname = target.pathname.replace(/abort$/, action);
      return fetch(target, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie: jar.header(target) ?? '' },
      });
    };
    const abort = await post('abort');
    expect(abort.status).toBe(303);
    const back = await followRedirects(
      new URL(abort.headers.get('location') ?? '', shown.url).toString(),
      {
        cookieJar: jar,
        stopBefore: (u) => u.toString().startsWith(REDIRECT_URI),
      },
    );
    const landed = new URL(back.url);
    expect(landed.searchParams.get('error')).toBe('access_denied');
    expect(landed.searchParams.get('state')).toBe('st-2');
  });

  it('signs in through the page (Continue as …) and takes client_secret_basic', async () => {
    oidc.setConsent('page');
    const basic = await client.discovery(
      new URL(oidc.issuer),
      oidc.clientId,
      undefined,
      client.ClientSecretBasic(oidc.clientSecret),
      { execute: [client.allowInsecureRequests] },
    );
    const jar = new CookieJar();
    const verifier = client.randomPKCECodeVerifier();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(basic, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid email profile',
      nonce,
      state: 'st-3',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const shown = await followRedirects(url.toString(), { cookieJar: jar });
    const action = /<form method="post" action="([^"]*\/confirm)"/.exec(shown.text)?.[1] ?? '';
    const target = new URL(action, shown.url);
    const confirmed = await fetch(target, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: jar.header(target) ?? '' },
    });
    jar.store(target, confirmed.headers.getSetCookie());
    const back = await followRedirects(
      new URL(confirmed.headers.get('location') ?? '', target).toString(),
      { cookieJar: jar, stopBefore: (u) => u.toString().startsWith(REDIRECT_URI) },
    );
    const tokens = await grant(basic, { url: new URL(back.url), verifier, state: 'st-3', nonce });
    expect(tokens.claims()?.sub).toBe(ADA.sub);
    const exchange = oidc.calls.find((c) => c.path === '/token');
    expect(exchange?.status).toBe(200);
    expect(exchange?.authorization).toMatch(/^Basic /);
  });

  it('refuses a redirect_uri that is not registered', async () => {
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: 'http://127.0.0.1:1/elsewhere',
      scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const res = await fetch(url, { redirect: 'manual' });
    expect(res.status).toBe(400);
  });
});

describe('fake Entra ID', () => {
  let entra: FakeEntra;
  let config: client.Configuration;
  const tenantId = '11111111-2222-3333-4444-555555555555';
  const oid = 'aaaaaaaa-0000-0000-0000-000000000001';

  beforeEach(async () => {
    entra = await startFakeEntra({
      tenantId,
      redirectUris: [REDIRECT_URI],
      accounts: [
        {
          oid,
          email: 'grace@contoso.example',
          preferred_username: 'grace@contoso.example',
          name: 'Grace Hopper',
        },
      ],
    });
    // As the broker builds it from LOGIN_ENTRA_AUTHORITY and LOGIN_ENTRA_TENANT_ID.
    const env = entra.env();
    const issuer = new URL(`${env.LOGIN_ENTRA_AUTHORITY}/${env.LOGIN_ENTRA_TENANT_ID}/v2.0`);
    config = await client.discovery(
      issuer,
      env.LOGIN_ENTRA_CLIENT_ID,
      env.LOGIN_ENTRA_CLIENT_SECRET,
      undefined,
      {
        execute: [client.allowInsecureRequests],
      },
    );
  });
  afterEach(() => entra.close());

  it('issues Entra-shaped id_tokens: tid, oid, no email_verified, a pairwise sub', async () => {
    expect(config.serverMetadata().issuer).toBe(`${entra.authority}/${tenantId}/v2.0`);
    const started = await startSignIn(config);
    const tokens = await grant(config, started);
    const claims = tokens.claims();
    expect(claims).toMatchObject({
      iss: `${entra.authority}/${tenantId}/v2.0`,
      aud: entra.clientId,
      tid: tenantId,
      oid,
      sub: entra.subOf(oid),
      email: 'grace@contoso.example',
      preferred_username: 'grace@contoso.example',
      name: 'Grace Hopper',
      ver: '2.0',
    });
    expect(claims?.sub).not.toBe(oid);
    expect(claims).not.toHaveProperty('email_verified');
    const userinfo = await client.fetchUserInfo(config, tokens.access_token, entra.subOf(oid));
    expect(userinfo).not.toHaveProperty('email_verified');
  });

  it('serves a cross-tenant account and one without an email', async () => {
    const guest = 'bbbbbbbb-0000-0000-0000-000000000002';
    entra.addAccount({
      oid: guest,
      tid: 'other-tenant',
      preferred_username: 'guest@fabrikam.example',
      name: 'Guest',
    });
    entra.signInAs(guest);
    const claims = (await grant(config, await startSignIn(config))).claims();
    expect(claims).toMatchObject({ tid: 'other-tenant', oid: guest, iss: entra.issuer });
    expect(claims).not.toHaveProperty('email');
  });
});

describe('followSignIn', () => {
  let oidc: FakeOidc;
  let broker: Server;
  let brokerUrl = '';
  let config: client.Configuration;
  const pending = new Map<string, { verifier: string; nonce: string }>();

  // A stand-in broker: /auth/login redirects to the issuer, /auth/callback exchanges the code.
  beforeAll(async () => {
    broker = createServer((req, res) => {
      void (async () => {
        const url = new URL(req.url ?? '/', brokerUrl);
        if (url.pathname === '/auth/login') {
          const verifier = client.randomPKCECodeVerifier();
          const nonce = client.randomNonce();
          const state = client.randomState();
          pending.set(state, { verifier, nonce });
          const to = client.buildAuthorizationUrl(config, {
            redirect_uri: `${brokerUrl}/auth/callback`,
            scope: 'openid email profile',
            state,
            nonce,
            code_challenge: await client.calculatePKCECodeChallenge(verifier),
            code_challenge_method: 'S256',
          });
          res.writeHead(302, {
            location: to.toString(),
            'set-cookie': `login_state=${state}; Path=/auth; HttpOnly`,
          });
          res.end();
          return;
        }
        const state = /login_state=([^;]+)/.exec(req.headers.cookie ?? '')?.[1] ?? '';
        const p = pending.get(state);
        const tokens = await client.authorizationCodeGrant(config, url, {
          pkceCodeVerifier: p?.verifier,
          expectedState: state,
          expectedNonce: p?.nonce,
          idTokenExpected: true,
        });
        res.writeHead(302, {
          location: '/connect',
          'set-cookie': [
            `cbk_session=${tokens.claims()?.sub}; Path=/; HttpOnly`,
            'login_state=; Path=/auth; Max-Age=0',
          ],
        });
        res.end('signed in');
      })().catch((err: unknown) => {
        res.writeHead(500).end(String(err));
      });
    });
    await new Promise<void>((resolve) => broker.listen(0, '127.0.0.1', resolve));
    brokerUrl = `http://127.0.0.1:${(broker.address() as AddressInfo).port}`;
    // No redirectUris: any is taken, as a broker's port is often known only after the issuer's.
    oidc = await startFakeOidc({ accounts: [ADA] });
    config = await client.discovery(
      new URL(oidc.issuer),
      oidc.clientId,
      oidc.clientSecret,
      undefined,
      {
        execute: [client.allowInsecureRequests],
      },
    );
  });
  afterAll(async () => {
    await oidc.close();
    await new Promise<void>((resolve) => broker.close(() => resolve()));
  });

  it("follows the broker's login through the issuer to the broker's callback answer", async () => {
    const jar = new CookieJar();
    const answer = await followSignIn(`${brokerUrl}/auth/login?provider=oidc`, { cookieJar: jar });
    expect(answer.url).toMatch(new RegExp(`^${brokerUrl}/auth/callback\\?`));
    expect(answer.status).toBe(302);
    expect(answer.location).toBe('/connect');
    expect(answer.setCookie).toContain('cbk_session=ada-1; Path=/; HttpOnly');
    expect(answer.text).toBe('signed in');
    expect(jar.get(`${brokerUrl}/connect`, 'cbk_session')).toBe('ada-1');
    expect(jar.get(`${brokerUrl}/auth/x`, 'login_state')).toBeUndefined(); // cleared by Max-Age=0
    expect(answer.hops.some((h) => h.includes('/interaction/'))).toBe(true);
  });
});
