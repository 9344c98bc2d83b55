import * as client from 'openid-client';
import { type FakeGithub, startFakeGithub } from '../../fakes/github/fake-github';

/**
 * The GitHub emulator speaks GitHub's wire format to the real openid-client v6, configured the
 * way the broker configures GitHub (no discovery: the endpoints by hand), then to GitHub's REST
 * API with the token it got.
 */

const REDIRECT_URI = 'http://127.0.0.1:1/auth/callback';

describe('fake GitHub', () => {
  let github: FakeGithub;
  let config: client.Configuration;

  beforeEach(async () => {
    github = await startFakeGithub({
      users: [
        {
          id: 1001,
          login: 'ada',
          name: 'Ada Lovelace',
          emails: [
            { email: 'ada@old.example', primary: false, verified: false, visibility: null },
            { email: 'ada@example.com', primary: true, verified: true, visibility: 'private' },
          ],
        },
      ],
    });
    config = new client.Configuration(
      {
        issuer: github.url,
        authorization_endpoint: github.authorizeUrl,
        token_endpoint: github.tokenUrl,
      },
      github.clientId,
      github.clientSecret,
    );
    client.allowInsecureRequests(config);
  });
  afterEach(() => github.close());

  /** The authorize URL the broker would build, and what a browser lands on after consent. */
  async function signIn(options: { verifier?: string; state?: string } = {}) {
    const verifier = options.verifier ?? client.randomPKCECodeVerifier();
    const state = options.state ?? client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'read:user user:email',
      state,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const res = await fetch(url, { redirect: 'manual' });
    expect(res.status).toBe(302);
    return { verifier, state, callback: new URL(res.headers.get('location') ?? '') };
  }

  const api = (token: string | undefined, path: string) =>
    fetch(`${github.apiUrl}${path}`, {
      headers: token ? { authorization: `Bearer ${token}`, accept: 'application/json' } : {},
    });

  it('exchanges a good code (PKCE, state) and serves /user and /user/emails', async () => {
    const { verifier, state, callback } = await signIn();
    expect(callback.origin + callback.pathname).toBe(REDIRECT_URI);
    expect(callback.searchParams.get('state')).toBe(state);
    expect(callback.searchParams.get('code')).toMatch(/^[0-9a-f]{20}$/);

    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    expect(tokens.access_token).toMatch(/^gho_[A-Za-z0-9]{36}$/);
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.scope).toBe('read:user,user:email');
    // What openid-client sent: the secret in the body (its default), the verifier, redirect_uri.
    const exchange = github.calls.find((c) => c.path === '/login/oauth/access_token');
    expect(exchange?.form).toMatchObject({
      client_id: github.clientId,
      client_secret: github.clientSecret,
      code_verifier: verifier,
      redirect_uri: REDIRECT_URI,
      grant_type: 'authorization_code',
    });

    const user = await api(tokens.access_token, '/user');
    expect(user.status).toBe(200);
    expect(await user.json()).toMatchObject({ id: 1001, login: 'ada', name: 'Ada Lovelace' });
    const emails = await api(tokens.access_token, '/user/emails');
    expect(await emails.json()).toEqual([
      { email: 'ada@old.example', primary: false, verified: false, visibility: null },
      { email: 'ada@example.com', primary: true, verified: true, visibility: 'private' },
    ]);
    expect(github.issuedSecrets()).toEqual(
      expect.arrayContaining([
        github.clientSecret,
        callback.searchParams.get('code'),
        tokens.access_token,
      ]),
    );
  });

  it('answers errors with HTTP 200, and openid-client throws on them (not an OAuth error)', async () => {
    const { verifier, state, callback } = await signIn();
    github.failTokenNext('bad_verification_code');
    const err: unknown = await client
      .authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: verifier,
        expectedState: state,
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    // What the broker gets: a ClientError wrapping oauth4webapi's processing error, whose own
    // cause carries GitHub's body; never a ResponseBodyError with `error` set.
    expect(err).toBeInstanceOf(client.ClientError);
    expect(err).not.toBeInstanceOf(client.ResponseBodyError);
    expect(err).toMatchObject({
      message: 'invalid response encountered',
      code: 'OAUTH_INVALID_RESPONSE',
      cause: {
        message: '"response" body "access_token" property must be a string',
        cause: { body: { error: 'bad_verification_code' } },
      },
    });
    expect(github.calls.at(-1)?.status).toBe(200);
  });

  it('refuses a replayed code, a wrong verifier, wrong client credentials, an expired code', async () => {
    const post = (form: Record<string, string>, accept = 'application/json') =>
      fetch(github.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept },
        body: new URLSearchParams({
          client_id: github.clientId,
          client_secret: github.clientSecret,
          redirect_uri: REDIRECT_URI,
          ...form,
        }),
      });

    const first = await signIn();
    const code = first.callback.searchParams.get('code') ?? '';
    const ok = await post({ code, code_verifier: first.verifier });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toHaveProperty('access_token');
    const replay = await post({ code, code_verifier: first.verifier });
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual({
      error: 'bad_verification_code',
      error_description: 'The code passed is incorrect or expired.',
      error_uri: expect.stringContaining('#bad-verification-code'),
    });

    const second = await signIn();
    const wrongVerifier = await post({
      code: second.callback.searchParams.get('code') ?? '',
      code_verifier: client.randomPKCECodeVerifier(),
    });
    expect(await wrongVerifier.json()).toMatchObject({ error: 'bad_verification_code' });

    const third = await signIn();
    const badSecret = await post({
      code: third.callback.searchParams.get('code') ?? '',
      code_verifier: third.verifier,
      client_secret: 'nope',
    });
    expect(await badSecret.json()).toMatchObject({ error: 'incorrect_client_credentials' });

    const fourth = await signIn();
    github.expireCodes();
    const expired = await post(
      { code: fourth.callback.searchParams.get('code') ?? '', code_verifier: fourth.verifier },
      '*/*',
    );
    expect(expired.headers.get('content-type')).toMatch(/^application\/x-www-form-urlencoded/);
    expect(new URLSearchParams(await expired.text()).get('error')).toBe('bad_verification_code');
  });

  it('takes client credentials over HTTP Basic and a JSON body', async () => {
    const { verifier, callback } = await signIn();
    const res = await fetch(github.tokenUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        authorization: `Basic ${Buffer.from(`${github.clientId}:${github.clientSecret}`).toString('base64')}`,
      },
      body: JSON.stringify({ code: callback.searchParams.get('code'), code_verifier: verifier }),
    });
    expect(await res.json()).toMatchObject({ token_type: 'bearer', scope: 'read:user,user:email' });
  });

  it('answers 401 Bad credentials for an absent or unknown token', async () => {
    for (const token of [undefined, 'gho_notissuedbythisemulator000000000000']) {
      const res = await api(token, '/user');
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ message: 'Bad credentials' });
    }
  });

  it('redirects with access_denied on denyNext, 404s an unknown client', async () => {
    github.denyNext();
    const { state, callback } = await signIn();
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('state')).toBe(state);
    expect(callback.searchParams.get('code')).toBeNull();
    const unknown = await fetch(
      `${github.authorizeUrl}?client_id=nope&redirect_uri=${REDIRECT_URI}`,
      {
        redirect: 'manual',
      },
    );
    expect(unknown.status).toBe(404);
  });

  it('shows a consent page whose Authorize and Cancel buttons post back', async () => {
    github.setConsent('page');
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'read:user user:email',
      state: 'st-1',
    });
    const decide = async (decision: 'authorize' | 'cancel') => {
      const page = await fetch(url, { redirect: 'manual' });
      const html = await page.text();
      expect(html).toContain(`Authorize ${github.appName}`);
      expect(html).toMatch(/<button[^>]*>Authorize<\/button>/);
      expect(html).toMatch(/<button[^>]*>Cancel<\/button>/);
      const requestId = /name="request_id" value="([^"]+)"/.exec(html)?.[1] ?? '';
      const res = await fetch(`${github.url}/login/oauth/authorize/decision`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ request_id: requestId, decision }),
        redirect: 'manual',
      });
      expect(res.status).toBe(302);
      return new URL(res.headers.get('location') ?? '');
    };
    const approved = await decide('authorize');
    expect(approved.searchParams.get('code')).toBeTruthy();
    expect(approved.searchParams.get('state')).toBe('st-1');
    const cancelled = await decide('cancel');
    expect(cancelled.searchParams.get('error')).toBe('access_denied');
    expect(cancelled.searchParams.get('error_description')).toBeTruthy();
    expect(cancelled.searchParams.get('state')).toBe('st-1');
  });

  it('injects token faults: a status, garbage, wrong client credentials', async () => {
    const attempt = async () => {
      const { verifier, state, callback } = await signIn();
      return client
        .authorizationCodeGrant(config, callback, {
          pkceCodeVerifier: verifier,
          expectedState: state,
        })
        .then(
          () => undefined,
          (e: unknown) =>
            e as Error & { code?: string; cause?: { cause?: { body?: { error?: string } } } },
        );
    };
    github.failTokenNext('status', 503);
    expect(await attempt()).toMatchObject({ code: 'OAUTH_RESPONSE_IS_NOT_CONFORM' });
    github.failTokenNext('garbage');
    expect((await attempt())?.code).toBe('OAUTH_RESPONSE_IS_NOT_JSON');
    github.failTokenNext('incorrect_client_credentials');
    expect((await attempt())?.cause?.cause?.body?.error).toBe('incorrect_client_credentials');
    expect(await attempt()).toBeUndefined(); // faults are one-shot
  });
});
