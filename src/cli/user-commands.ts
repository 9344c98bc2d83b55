import { type Command } from 'commander';
import * as oidc from 'openid-client';
import { CredentialsFile, type StoredLogin } from './credentials-file';

/** Exit codes of the user commands (documented in the README's CLI section). */
export const USER_EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  /** Not signed in, or the sign-in ended: run `cbk login` again. */
  notSignedIn: 3,
  /** The connection's grant is dead: its owner must connect it again. */
  needsReauth: 4,
  /** The provider or the broker is unavailable for now: try again later. */
  unavailable: 5,
} as const;

export class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CliFailure';
  }
}

export const CLI_CLIENT_ID = 'cbk-cli';
const SCOPES = 'openid offline_access connections:read connections:write tokens:read';

export interface UserCliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  sleep?: (ms: number) => Promise<void>;
}

async function discover(url: string): Promise<oidc.Configuration> {
  const insecure = url.startsWith('http://') ? [oidc.allowInsecureRequests] : [];
  try {
    return await oidc.discovery(new URL(url), CLI_CLIENT_ID, undefined, oidc.None(), {
      execute: insecure,
      timeout: 15,
    });
  } catch (err) {
    throw new CliFailure(
      `cannot reach the broker's authorization server at ${url} (${err instanceof Error ? err.message : 'unknown error'})`,
      USER_EXIT.unavailable,
    );
  }
}

function normaliseUrl(input: string): string {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new CliFailure(
      `--url must be the broker's URL, like https://broker.example.com`,
      USER_EXIT.usage,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new CliFailure('--url must be an http(s) URL', USER_EXIT.usage);
  }
  return url.origin + url.pathname.replace(/\/+$/, '');
}

/**
 * The person's side of the broker (SPEC §11): `cbk login` (device flow; prints the URL and the
 * code and opens nothing by itself), then reads through the API with the access token, which is
 * refreshed (and rotated) when it has expired.
 */
export class BrokerSession {
  private readonly file: CredentialsFile;

  constructor(private readonly io: UserCliIo) {
    this.file = new CredentialsFile(io.env);
  }

  async login(urlInput: string): Promise<void> {
    const url = normaliseUrl(urlInput);
    const config = await discover(url);
    const device = await oidc
      .initiateDeviceAuthorization(config, { scope: SCOPES, resource: url })
      .catch((err: unknown) => {
        throw new CliFailure(
          `the broker refused to start a sign-in: ${describe(err)}`,
          USER_EXIT.failure,
        );
      });
    this.io.stderr(
      [
        'To sign in, open this page in a browser:',
        `  ${device.verification_uri}`,
        `and enter the code: ${device.user_code}`,
        device.verification_uri_complete ? `(or open ${device.verification_uri_complete})` : '',
        `Waiting for you to approve (the code expires in ${Math.round(device.expires_in / 60)} minutes)...`,
        '',
      ]
        .filter((l) => l !== '')
        .join('\n') + '\n',
    );
    // openid-client polls at the server's interval and slows down when told (RFC 8628).
    const tokens = await oidc
      .pollDeviceAuthorizationGrant(config, device, { resource: url })
      .catch((err: unknown) => {
        const code = err instanceof oidc.ResponseBodyError ? err.error : undefined;
        if (code === 'expired_token')
          throw new CliFailure(
            'the code expired before it was approved; run cbk login again',
            USER_EXIT.notSignedIn,
          );
        if (code === 'access_denied')
          throw new CliFailure('the sign-in was denied in the browser', USER_EXIT.notSignedIn);
        throw new CliFailure(`the sign-in failed: ${describe(err)}`, USER_EXIT.failure);
      });
    this.save(url, tokens);
    this.io.stderr(`Signed in to ${url}. Tokens are in ${this.file.path} (mode 0600).\n`);
  }

  async logout(): Promise<void> {
    const stored = this.file.read();
    if (!stored) {
      this.io.stderr('Not signed in.\n');
      return;
    }
    try {
      const config = await discover(stored.url);
      if (stored.refreshToken) await oidc.tokenRevocation(config, stored.refreshToken);
      await oidc.tokenRevocation(config, stored.accessToken).catch(() => undefined);
    } catch (err) {
      this.io.stderr(
        `warning: the broker could not be told (${describe(err)}); the local tokens are deleted anyway\n`,
      );
    }
    this.file.remove();
    this.io.stderr(`Signed out of ${stored.url}.\n`);
  }

  /** A GET on the broker's API as the signed-in person; refreshes an expired access token once. */
  async get(path: string): Promise<unknown> {
    let stored = this.current();
    if (stored.expiresAt - 30_000 < Date.now()) stored = await this.refresh(stored);
    let res = await this.fetch(stored, path);
    if (res.status === 401 && stored.refreshToken) {
      stored = await this.refresh(stored);
      res = await this.fetch(stored, path);
    }
    const text = await res.text();
    let body: { code?: string; detail?: string } & Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      // not JSON
    }
    if (res.ok) return body;
    const detail = body.detail ?? `HTTP ${res.status}`;
    switch (body.code) {
      case 'unauthenticated':
        throw new CliFailure(
          `the broker no longer accepts this sign-in (${detail}); run cbk login --url ${stored.url}`,
          USER_EXIT.notSignedIn,
        );
      case 'needs_reauth':
        throw new CliFailure(
          `this connection must be connected again by its owner: ${detail}`,
          USER_EXIT.needsReauth,
        );
      case 'provider_unavailable':
      case 'secret_store_unavailable':
      case 'database_unavailable':
      case 'redis_unavailable':
      case 'service_unavailable':
        throw new CliFailure(
          `unavailable for now, try again later: ${detail}`,
          USER_EXIT.unavailable,
        );
      case 'not_found':
        throw new CliFailure(`no such connection (or not yours): ${detail}`, USER_EXIT.failure);
      default:
        throw new CliFailure(`${body.code ?? 'error'}: ${detail}`, USER_EXIT.failure);
    }
  }

  private current(): StoredLogin {
    const stored = this.file.read();
    if (!stored)
      throw new CliFailure('not signed in: run cbk login --url <broker>', USER_EXIT.notSignedIn);
    return stored;
  }

  private fetch(stored: StoredLogin, path: string): Promise<Response> {
    return fetch(`${stored.url}${path}`, {
      headers: { authorization: `Bearer ${stored.accessToken}`, accept: 'application/json' },
      signal: AbortSignal.timeout(30_000),
    }).catch((err: unknown) => {
      throw new CliFailure(`cannot reach ${stored.url}: ${describe(err)}`, USER_EXIT.unavailable);
    });
  }

  private async refresh(stored: StoredLogin): Promise<StoredLogin> {
    if (!stored.refreshToken) {
      throw new CliFailure(
        `the sign-in has expired; run cbk login --url ${stored.url}`,
        USER_EXIT.notSignedIn,
      );
    }
    const config = await discover(stored.url);
    const tokens = await oidc
      .refreshTokenGrant(config, stored.refreshToken, { resource: stored.url })
      .catch((err: unknown) => {
        if (err instanceof oidc.ResponseBodyError && err.error === 'invalid_grant') {
          this.file.remove();
          throw new CliFailure(
            `the sign-in has ended (expired or revoked); run cbk login --url ${stored.url}`,
            USER_EXIT.notSignedIn,
          );
        }
        throw new CliFailure(
          `could not renew the sign-in: ${describe(err)}`,
          USER_EXIT.unavailable,
        );
      });
    return this.save(stored.url, tokens, stored.refreshToken);
  }

  private save(
    url: string,
    tokens: oidc.TokenEndpointResponse,
    previousRefresh?: string,
  ): StoredLogin {
    const login: StoredLogin = {
      url,
      accessToken: tokens.access_token,
      // Rotated on every use: keep the new one (the old one is now dead).
      refreshToken: tokens.refresh_token ?? previousRefresh,
      expiresAt: Date.now() + (tokens.expires_in ?? 300) * 1000,
    };
    this.file.write(login);
    return login;
  }
}

function describe(err: unknown): string {
  if (err instanceof oidc.ResponseBodyError) return err.error_description ?? err.error;
  return err instanceof Error ? err.message : String(err);
}

interface ConnectionRow {
  id: string;
  provider: string;
  account_ref: string;
  status: string;
  expires_at: string | null;
}

export function registerUserCommands(program: Command, io: UserCliIo): void {
  const session = () => new BrokerSession(io);
  program
    .command('login')
    .description('Sign in to a broker with the device flow (prints a URL and a code)')
    .requiredOption('--url <broker>', "the broker's URL (PUBLIC_URL)")
    .action(async (options: { url: string }) => session().login(options.url));
  program
    .command('logout')
    .description('Revoke the stored tokens at the broker and delete them')
    .action(async () => session().logout());
  program
    .command('connections')
    .description('List your connections')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const page = (await session().get('/connections?limit=100')) as { items: ConnectionRow[] };
      if (options.json) {
        io.stdout(`${JSON.stringify(page.items, null, 2)}\n`);
        return;
      }
      const rows = [
        ['ID', 'PROVIDER', 'ACCOUNT', 'STATUS', 'EXPIRES'],
        ...page.items.map((c) => [c.id, c.provider, c.account_ref, c.status, c.expires_at ?? '-']),
      ];
      const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
      io.stdout(
        `${rows
          .map((r) =>
            r
              .map((cell, i) => cell.padEnd(widths[i]))
              .join('  ')
              .trimEnd(),
          )
          .join('\n')}\n`,
      );
    });
  program
    .command('token')
    .description(
      "Print a connection's provider access token (for scripts, like gcloud auth print-access-token)",
    )
    .argument('<connection-id>')
    .option('--json', 'print the whole answer as JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      const token = (await session().get(`/connections/${encodeURIComponent(id)}/token`)) as Record<
        string,
        unknown
      >;
      if (options.json || typeof token.access_token !== 'string') {
        io.stdout(`${JSON.stringify(token, null, 2)}\n`);
        return;
      }
      io.stdout(`${token.access_token}\n`);
    });
  program
    .command('aws')
    .description('AWS helpers')
    .command('credential-process')
    .description('Print the AWS CLI credential_process JSON of an AWS connection')
    .argument('<connection-id>')
    .action(async (id: string) => {
      const creds = await session().get(
        `/connections/${encodeURIComponent(id)}/token?format=credential_process`,
      );
      io.stdout(`${JSON.stringify(creds)}\n`);
    });
}
