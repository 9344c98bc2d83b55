import { type Server, createServer } from 'node:http';
import { type AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  type OAuthClientProvider,
  UnauthorizedError,
} from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  type OAuthClientInformationMixed,
  type OAuthClientMetadata,
  type OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import { type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import {
  type FakeGithub,
  startFakeGithub,
  verifiedGithubUser,
} from '../../fakes/github/fake-github';
import { type FakeGoogle, startFakeGoogle } from '../../fakes/google/fake-google';
import { BrokerHarness, NO_LEAKS, leaksIn } from '../../support/broker';
import { useBrowser } from '../../support/browser';
import { type SeededGcp, seedGcpConnection } from '../../support/lifecycle-seed';

/**
 * What an MCP client does with the broker (SPEC §11, §12), with the SDK's own client-side OAuth:
 * the 401 names the protected resource metadata, that names the authorization server, the SDK
 * registers itself (RFC 7591), sends the person's browser (headless Chromium) to authorize with
 * PKCE, the person signs in with GitHub (its consent page: Authorize) and allows on the broker's
 * consent page; the redirect lands on a loopback listener, the SDK exchanges the code and calls
 * get_access_token.
 */
describe('an MCP client signs a person in and reads a token (browser)', () => {
  let github: FakeGithub;
  let google: FakeGoogle;
  let broker: BrokerHarness;
  let seeded: SeededGcp;
  let loopback: Server;
  let redirectUrl: string;
  const browser = useBrowser();

  beforeAll(async () => {
    github = await startFakeGithub({
      consent: 'page',
      appName: 'Broker under test',
      users: [verifiedGithubUser(4242, 'grace', 'Grace Hopper', 'grace@example.com')],
    });
    google = await startFakeGoogle();
    broker = await BrokerHarness.start({
      env: {
        ...github.env(),
        ...google.env(),
        LOGIN_PROVIDERS: 'github',
        LOGIN_ALLOWED_USERS: 'grace',
      },
    });
    seeded = await seedGcpConnection(broker, google, {
      userId: 'github:4242',
      expiresInSeconds: 3600,
    });
    // The client's redirect_uri: a loopback listener, as native MCP clients (Claude Code) use.
    loopback = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('Signed in; you can close this.');
    });
    await new Promise<void>((resolve) => loopback.listen(0, '127.0.0.1', resolve));
    redirectUrl = `http://127.0.0.1:${(loopback.address() as AddressInfo).port}/callback`;
  });
  afterAll(async () => {
    await new Promise((resolve) => loopback?.close(resolve));
    await broker?.close();
    await Promise.all([github?.close(), google?.close()]);
  });

  browser.it(
    'discovers, registers, authorizes with PKCE in the browser, and calls get_access_token',
    async ({ page }) => {
      const provider = new InMemoryOAuthClient(redirectUrl);
      const mcpUrl = new URL(`${broker.url}/mcp`);
      const first = new Client({ name: 'browser-e2e', version: '1.0.0' });
      const transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider });
      // No token yet: the 401 starts discovery, registration and the redirect.
      await expect(first.connect(transport)).rejects.toBeInstanceOf(UnauthorizedError);
      expect(provider.client?.client_id).toEqual(expect.any(String));
      const authorize = provider.authorizationUrl;
      if (!authorize) throw new Error('the SDK did not ask for the browser');
      expect(`${authorize.origin}${authorize.pathname}`).toBe(`${broker.url}/oauth/authorize`);
      expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
      expect(authorize.searchParams.get('resource')).toBe(mcpUrl.toString());

      await page.goto(authorize.toString());
      // The broker asks for sign-in (one provider: straight to GitHub's consent page).
      await page.getByRole('heading', { name: 'Authorize Broker under test' }).waitFor();
      await page.getByRole('button', { name: 'Authorize' }).click();
      // Back at the broker: its consent page names the client and the scopes.
      await page.getByRole('heading', { name: /wants to act for you/ }).waitFor();
      expect(await page.getByText('Signed in as').textContent()).toContain('Grace Hopper');
      expect(await page.locator('main').textContent()).toContain('tokens:read');
      await page.getByRole('button', { name: 'Allow' }).click();
      await page.waitForURL((u) => u.toString().startsWith(redirectUrl));
      const back = new URL(page.url());
      expect(back.searchParams.get('iss')).toBe(broker.url);
      expect(back.searchParams.get('state')).toBe(provider.lastState);
      const code = back.searchParams.get('code');
      if (!code) throw new Error(`no code: ${page.url()}`);

      await transport.finishAuth(code);
      const tokens = provider.saved;
      if (!tokens) throw new Error('the SDK saved no tokens');
      expect(tokens.access_token).toEqual(expect.any(String));

      const mcp = new Client({ name: 'browser-e2e', version: '1.0.0' });
      await mcp.connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider }));
      try {
        const { tools } = await mcp.listTools();
        expect(tools.map((t) => t.name)).toContain('get_access_token');
        const result = (await mcp.callTool({
          name: 'get_access_token',
          arguments: { connection_id: seeded.connection.id },
        })) as CallToolResult;
        expect(result.isError).toBeFalsy();
        const token = JSON.parse((result.content[0] as { text: string }).text) as {
          access_token: string;
          expires_at: string;
        };
        expect(token.access_token).toBe(seeded.accessToken);
        expect(token.expires_at).toBe(seeded.connection.expiresAt?.toISOString());
      } finally {
        await mcp.close();
      }

      const secrets = [
        code,
        tokens.access_token,
        ...(tokens.refresh_token ? [tokens.refresh_token] : []),
      ];
      expect(leaksIn(await broker.placesOutsideVault([]), secrets)).toEqual(NO_LEAKS);
    },
    60_000,
  );
});

/** The smallest OAuthClientProvider: state in memory, the browser step handed to the test. */
class InMemoryOAuthClient implements OAuthClientProvider {
  client?: OAuthClientInformationMixed;
  saved?: OAuthTokens;
  authorizationUrl?: URL;
  lastState?: string;
  private verifier?: string;

  constructor(readonly redirectUrl: string) {}

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'MCP browser e2e',
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  state(): string {
    this.lastState = crypto.randomUUID();
    return this.lastState;
  }

  clientInformation(): OAuthClientInformationMixed | undefined {
    return this.client;
  }

  saveClientInformation(info: OAuthClientInformationMixed): void {
    this.client = info;
  }

  tokens(): OAuthTokens | undefined {
    return this.saved;
  }

  saveTokens(tokens: OAuthTokens): void {
    this.saved = tokens;
  }

  redirectToAuthorization(url: URL): void {
    this.authorizationUrl = url;
  }

  saveCodeVerifier(verifier: string): void {
    this.verifier = verifier;
  }

  codeVerifier(): string {
    if (!this.verifier) throw new Error('no code verifier saved');
    return this.verifier;
  }
}
