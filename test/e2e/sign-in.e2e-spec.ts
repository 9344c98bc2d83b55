import { type FakeGithub, startFakeGithub } from '../fakes/github/fake-github';
import { untilLogged } from '../fakes/google/leaks';
import { type SignInAnswer, followSignIn } from '../fakes/identity-browser';
import { type FakeEntra, startFakeEntra } from '../fakes/oidc/fake-entra';
import { type FakeOidc, startFakeOidc } from '../fakes/oidc/fake-oidc';
import { BrokerHarness, FRONTEND_URL, NO_LEAKS, leaksIn } from '../support/broker';

/**
 * Sign-in for people (SPEC §9) against the GitHub, OIDC and Entra emulators, driven the way a
 * browser follows the redirects: the state, PKCE and nonce checks, the allow-list, the Redis
 * session on any replica, the Origin check of cookie-authenticated writes, logout, and no session
 * id, GitHub token or id_token outside the browser.
 */
describe('sign-in (e2e)', () => {
  let github: FakeGithub;
  let oidc: FakeOidc;
  let entra: FakeEntra;
  let broker: BrokerHarness;
  const answers: string[] = [];
  const sessionIds: string[] = [];

  beforeAll(async () => {
    github = await startFakeGithub({
      users: [
        {
          id: 1001,
          login: 'alice-gh',
          name: 'Alice',
          emails: [
            { email: 'alice@old.example', primary: false, verified: true, visibility: null },
            { email: 'alice@example.com', primary: true, verified: true, visibility: 'private' },
          ],
        },
        {
          id: 1002,
          login: 'mallory',
          name: 'Mallory',
          emails: [
            { email: 'mallory@example.com', primary: true, verified: false, visibility: null },
          ],
        },
        { id: 1003, login: 'root-gh', name: 'Root', emails: [] },
      ],
    });
    oidc = await startFakeOidc({
      accounts: [
        {
          sub: 'u-1',
          email: 'olive@corp.example',
          email_verified: true,
          name: 'Olive',
          preferred_username: 'olive',
        },
        {
          sub: 'u-2',
          email: 'eve@corp.example',
          email_verified: false,
          name: 'Eve',
          preferred_username: 'eve',
        },
      ],
    });
    entra = await startFakeEntra({
      tenantId: '11111111-2222-4333-8444-555555555555',
      accounts: [
        {
          oid: 'aaaaaaaa-0000-4000-8000-000000000001',
          preferred_username: 'erin@contoso.example',
          name: 'Erin',
        },
      ],
    });
    broker = await BrokerHarness.start({
      env: {
        ...github.env(),
        ...oidc.env(),
        ...entra.env(),
        LOGIN_PROVIDERS: 'github,oidc,entra',
        LOGIN_ALLOWED_USERS: 'alice-gh,root-gh,mallory@example.com',
        LOGIN_ALLOWED_DOMAINS: 'corp.example,contoso.example',
        ADMIN_USERS: 'root-gh',
      },
    });
  });
  afterAll(async () => {
    await broker.close();
    await Promise.all([github.close(), oidc.close(), entra.close()]);
  });

  const loginUrl = (provider: string, redirectTo = '/connect') =>
    `${broker.url}/auth/login?provider=${provider}&redirect_to=${encodeURIComponent(redirectTo)}`;

  function sessionCookie(answer: SignInAnswer): string {
    const cookie = answer.setCookie.find((c) => c.startsWith('cbk_session='));
    if (!cookie)
      throw new Error(`no session cookie: ${answer.status} ${answer.location} ${answer.text}`);
    const pair = cookie.split(';')[0];
    sessionIds.push(pair.slice('cbk_session='.length));
    return pair;
  }

  async function signIn(provider: string, redirectTo?: string): Promise<SignInAnswer> {
    const answer = await followSignIn(loginUrl(provider, redirectTo));
    answers.push(answer.text);
    return answer;
  }

  async function as(
    cookie: string,
    path: string,
    init: { method?: string; origin?: string; base?: string } = {},
  ) {
    const headers: Record<string, string> = { cookie };
    if (init.origin) headers.origin = init.origin;
    const res = await broker.request(path, { method: init.method, headers, base: init.base });
    answers.push(res.text);
    return res;
  }

  const landing = (answer: SignInAnswer) => new URL(answer.location ?? 'about:blank');

  it('says what sign-in offers before anyone signs in', async () => {
    const res = await broker.request('/auth/status');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      enabled: true,
      providers: ['github', 'oidc', 'entra'],
      authenticated: false,
    });
  });

  it('sends the browser to GitHub with a one-time state and PKCE S256', async () => {
    const res = await fetch(loginUrl('github'), { redirect: 'manual' });
    expect(res.status).toBe(302);
    const to = new URL(res.headers.get('location') as string);
    expect(`${to.origin}${to.pathname}`).toBe(`${github.url}/login/oauth/authorize`);
    expect(to.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(to.searchParams.get('code_challenge_method')).toBe('S256');
    expect(to.searchParams.get('redirect_uri')).toBe(`${broker.url}/auth/callback`);
    expect(to.searchParams.get('scope')).toBe('read:user user:email');
  });

  it('signs a GitHub user in: a session cookie, /auth/me, the API as that user, on every replica', async () => {
    github.signInAs('alice-gh');
    const answer = await signIn('github');
    expect(answer.status).toBe(302);
    expect(answer.location).toBe(`${broker.url}/connect`);
    expect(answer.setCookie.join()).toMatch(
      /cbk_session=[A-Za-z0-9_-]{43}; Max-Age=28800; Path=\/; HttpOnly; SameSite=Lax/,
    );
    const cookie = sessionCookie(answer);

    const me = await as(cookie, '/auth/me');
    expect(me.status).toBe(200);
    expect(me.body).toEqual({
      id: 'github:1001',
      email: 'alice@example.com',
      name: 'Alice',
      username: 'alice-gh',
      provider: 'github',
    });
    expect(me.headers.get('x-auth-request-user')).toBe('github:1001');
    expect(me.headers.get('x-auth-request-email')).toBe('alice@example.com');
    expect(me.headers.get('cache-control')).toBe('no-store');
    expect((await as(cookie, '/connections')).status).toBe(200);

    const other = await broker.startApi();
    const there = await as(cookie, '/auth/me', { base: other.url });
    expect(there.status).toBe(200);
    expect(there.body).toMatchObject({ id: 'github:1001' });
    await other.stop();
  });

  it('Origin-checks every write made with the cookie (403 csrf_rejected), bearers are not affected', async () => {
    const cookie = sessionCookie(await signIn('github'));
    const missing = await as(cookie, '/gcp/login', { method: 'POST' });
    expect(missing.status).toBe(403);
    expect(missing.body).toMatchObject({ code: 'csrf_rejected' });
    const foreign = await as(cookie, '/gcp/login', {
      method: 'POST',
      origin: 'https://evil.example',
    });
    expect(foreign.body).toMatchObject({ code: 'csrf_rejected' });
    // The broker's own origin passes the check (GCP is off here: the next answer is the route's).
    const own = await as(cookie, '/gcp/login', { method: 'POST', origin: broker.url });
    expect(own.body).toMatchObject({ code: 'provider_disabled' });
    const frontend = await as(cookie, '/gcp/login', { method: 'POST', origin: FRONTEND_URL });
    expect(frontend.body).toMatchObject({ code: 'provider_disabled' });
  });

  it('logs out: the session is deleted in Redis and the cookie cleared', async () => {
    const cookie = sessionCookie(await signIn('github'));
    expect(
      (await as(cookie, '/auth/logout', { method: 'POST', origin: 'https://evil.example' })).status,
    ).toBe(403);
    const out = await as(cookie, '/auth/logout', { method: 'POST', origin: broker.url });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^cbk_session=; Max-Age=0;/);
    const after = await as(cookie, '/auth/me');
    expect(after.status).toBe(401);
    expect(after.body).toMatchObject({ code: 'unauthenticated' });
    const status = await as(cookie, '/auth/status');
    expect(status.body).toMatchObject({ authenticated: false });
  });

  it('refuses an identity outside the allow-list: 403 login_not_allowed, a page for browsers', async () => {
    // mallory's listed email is not verified at GitHub, so it does not count.
    github.signInAs('mallory');
    const json = await signIn('github');
    expect(json.status).toBe(403);
    expect(JSON.parse(json.text)).toMatchObject({ code: 'login_not_allowed', status: 403 });
    expect(json.setCookie).toEqual([]);
    github.signInAs('mallory');
    const page = await followSignIn(loginUrl('github'), { headers: { accept: 'text/html' } });
    expect(page.status).toBe(403);
    expect(page.text).toContain('This account may not sign in here');
  });

  it('turns every failed callback into a redirect to the connect page with a code', async () => {
    const codeOf = (answer: SignInAnswer) => {
      const to = landing(answer);
      expect(`${to.origin}${to.pathname}`).toBe(`${broker.url}/connect`);
      expect(to.searchParams.get('login')).toBe('error');
      return to.searchParams.get('code');
    };
    github.signInAs('alice-gh');
    github.denyNext();
    expect(codeOf(await signIn('github'))).toBe('access_denied');
    github.failTokenNext('bad_verification_code');
    expect(codeOf(await signIn('github'))).toBe('exchange_failed');
    github.failTokenNext('incorrect_client_credentials');
    expect(codeOf(await signIn('github'))).toBe('exchange_failed');
    // GitHub's 200-with-error answer names its cause in the log, for the operator.
    await untilLogged(() => broker.logs(), 'github token endpoint: incorrect_client_credentials');
    github.failTokenNext('status', 500);
    expect(codeOf(await signIn('github'))).toBe('exchange_failed');
    github.failApiNext(500);
    expect(codeOf(await signIn('github'))).toBe('identity_failed');

    const noState = await fetch(`${broker.url}/auth/callback?code=abc`, { redirect: 'manual' });
    expect(new URL(noState.headers.get('location') as string).searchParams.get('code')).toBe(
      'invalid_state',
    );

    // A state works once: replaying the callback URL is refused.
    const first = await signIn('github');
    sessionCookie(first);
    const callbackUrl = first.hops.at(-1) as string;
    const replay = await fetch(callbackUrl, { redirect: 'manual' });
    expect(new URL(replay.headers.get('location') as string).searchParams.get('code')).toBe(
      'invalid_state',
    );
    expect(replay.headers.get('set-cookie')).toBeNull();
  });

  it('never spends a state on HEAD', async () => {
    const res = await fetch(`${broker.url}/auth/callback?state=x&code=y`, { method: 'HEAD' });
    expect(res.status).toBe(405);
  });

  it('validates /auth/login: a known provider, and redirect_to on the broker or frontend origin', async () => {
    const bad = await broker.request('/auth/login?provider=gitlab');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'validation_failed' });
    const open = await broker.request(
      `/auth/login?provider=github&redirect_to=${encodeURIComponent('https://evil.example/x')}`,
    );
    expect(open.status).toBe(400);
    const protocolRelative = await broker.request(
      `/auth/login?provider=github&redirect_to=${encodeURIComponent('//evil.example/x')}`,
    );
    expect(protocolRelative.status).toBe(400);
    github.signInAs('alice-gh');
    const toFrontend = await signIn('github', `${FRONTEND_URL}/after?x=1`);
    sessionCookie(toFrontend);
    expect(toFrontend.location).toBe(`${FRONTEND_URL}/after?x=1`);
  });

  it('signs in with OIDC: id_token checked, verified emails only', async () => {
    oidc.signInAs('u-1');
    const answer = await signIn('oidc');
    const cookie = sessionCookie(answer);
    const me = await as(cookie, '/auth/me');
    expect(me.body).toEqual({
      id: 'oidc:u-1',
      email: 'olive@corp.example',
      name: 'Olive',
      username: 'olive',
      provider: 'oidc',
    });
    oidc.signInAs('u-2');
    expect((await signIn('oidc')).status).toBe(403);
  });

  it.each([
    ['a foreign audience', { aud: 'another-client' }],
    ['a foreign issuer', { iss: 'http://127.0.0.1:1/other' }],
    ['a wrong nonce', { nonce: 'not-the-one-sent' }],
    ['an expired token', { exp: Math.floor(Date.now() / 1000) - 3600 }],
  ])('refuses an id_token with %s (exchange_failed)', async (_what, claims) => {
    oidc.signInAs('u-1');
    oidc.nextIdTokenClaims(claims);
    const answer = await signIn('oidc');
    expect(answer.setCookie).toEqual([]);
    expect(landing(answer).searchParams.get('code')).toBe('exchange_failed');
  });

  it('signs in with Entra ID: entra:<tid>:<oid>, preferred_username as the address', async () => {
    const answer = await signIn('entra');
    const me = await as(sessionCookie(answer), '/auth/me');
    expect(me.body).toEqual({
      id: `entra:${entra.tenantId}:aaaaaaaa-0000-4000-8000-000000000001`,
      email: 'erin@contoso.example',
      name: 'Erin',
      username: 'erin@contoso.example',
      provider: 'entra',
    });
  });

  it('lets ADMIN_USERS open /admin/* with the session, and nobody else', async () => {
    github.signInAs('root-gh');
    const root = sessionCookie(await signIn('github'));
    expect((await as(root, '/admin/queues')).status).toBe(200);
    github.signInAs('alice-gh');
    const alice = sessionCookie(await signIn('github'));
    const refused = await as(alice, '/admin/queues');
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'forbidden' });
  });

  it('answers 403 on a replica whose allow-list no longer has the person', async () => {
    github.signInAs('alice-gh');
    const cookie = sessionCookie(await signIn('github'));
    const stricter = await broker.startApi({
      LOGIN_ALLOWED_USERS: 'root-gh',
      LOGIN_ALLOWED_DOMAINS: '',
    });
    const me = await as(cookie, '/auth/me', { base: stricter.url });
    expect(me.status).toBe(403);
    expect(me.body).toMatchObject({ code: 'login_not_allowed' });
    // The connect page says why instead of only offering to sign in again.
    const page = await as(cookie, '/connect', { base: stricter.url });
    expect(page.status).toBe(200);
    expect(page.text).toContain('This account is not allowed to use the broker');
    await stricter.stop();
  });

  it('keeps session ids, GitHub tokens and id_tokens out of Postgres, Redis, logs and answers', async () => {
    const secrets = [
      ...sessionIds,
      ...github.issuedSecrets(),
      ...oidc.issuedSecrets(),
      ...entra.issuedSecrets(),
    ];
    expect(sessionIds.length).toBeGreaterThan(5);
    expect(leaksIn(await broker.placesOutsideVault(answers), secrets)).toEqual(NO_LEAKS);
  });
});
