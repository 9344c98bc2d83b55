import { type IncomingMessage, type ServerResponse } from 'node:http';
import {
  Inject,
  Injectable,
  Logger,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { type Repository } from 'typeorm';
import { BrokerTokenVerifier } from '../../auth/broker-tokens';
import { DELEGABLE_SCOPES } from '../../auth/scope-rules';
import { SessionAuthenticator } from '../../auth/session-authenticator';
import { APP_CONFIG, type AppConfig } from '../../config/config';
import { OAuthClientEntity } from '../../database/entities';
import { RedisService } from '../../redis/redis.module';
import { SECRET_STORE, type SecretStore } from '../../secrets/secret-store';
import { postgresClientAdapter, secretMatchesHash } from './client-store';
import { hashedRedisAdapter } from './hashed-redis-adapter';
import { OAUTH_PAGES_UNSET, type OAuthPages } from './oauth-pages';
import { type AuthorizationServerKeys, SigningKeys, publicJwks } from './signing-keys';

/* ---- the parts of oidc-provider (untyped, ESM-only) this file uses ---- */
interface KoaContext {
  oidc: {
    session: { accountId?: string };
    client?: { clientId: string; clientName?: string; [k: string]: unknown };
    entities: Record<string, unknown>;
    params: Record<string, unknown>;
    route?: string;
  };
  get(field: string): string;
  type: string;
  body: unknown;
}
interface OidcCheck {
  new (
    reason: string,
    description: string,
    check: (ctx: KoaContext) => Promise<boolean> | boolean,
  ): unknown;
}
interface OidcModule {
  Provider: new (issuer: string, configuration: Record<string, unknown>) => OidcProvider;
  interactionPolicy: {
    Check: OidcCheck & { REQUEST_PROMPT: boolean; NO_NEED_TO_PROMPT: boolean };
    base(): { get(name: string): { checks: { add(check: unknown, at?: number): void } } };
  };
  errors: { InvalidTarget: new (description?: string) => Error };
}
export interface OidcInteraction {
  uid: string;
  prompt: { name: string; details: Record<string, unknown>; reasons: string[] };
  params: Record<string, string | undefined>;
  session?: { accountId?: string };
  grantId?: string;
}
export interface OidcGrant {
  addOIDCScope(scope: string): void;
  addResourceScope(resource: string, scope: string): void;
  save(): Promise<string>;
}
export interface OidcProvider {
  proxy: boolean;
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<OidcInteraction>;
  interactionFinished(
    req: IncomingMessage,
    res: ServerResponse,
    result: Record<string, unknown>,
    options?: { mergeWithLastSubmission?: boolean },
  ): Promise<void>;
  Grant: {
    new (init: { accountId: string; clientId: string }): OidcGrant;
    find(id: string): Promise<OidcGrant | undefined>;
  };
  Client: {
    find(
      id: string,
    ): Promise<{ clientId: string; clientName?: string; redirectUris: string[] } | undefined>;
    prototype: {
      compareClientSecret(
        this: { clientSecret?: string },
        actual: string,
      ): Promise<boolean> | boolean;
    };
  };
  on(event: string, listener: (...args: unknown[]) => void): void;
}
/* eslint-disable @typescript-eslint/no-require-imports */
const oidcProvider = () => require('oidc-provider') as OidcModule;
/* eslint-enable @typescript-eslint/no-require-imports */

/** What the broker's tokens may carry (SPEC §3): `admin` is never handed out over OAuth. */
export const OAUTH_SCOPES = DELEGABLE_SCOPES;

/** The built-in client of the `cbk` CLI: public, device flow only. */
export const CLI_CLIENT_ID = 'cbk-cli';

/** Paths the library answers itself; the interaction pages are the broker's own routes. */
export function isAuthorizationServerPath(path: string): boolean {
  if (path === '/.well-known/openid-configuration') return true;
  if (path === '/.well-known/oauth-authorization-server') return true;
  return path.startsWith('/oauth/') && !path.startsWith('/oauth/interaction/');
}

/**
 * The broker's own OAuth 2.1 authorization server (SPEC §11) on oidc-provider: device flow for
 * the CLI, code + PKCE (S256) for MCP clients with dynamic registration and client ID metadata
 * documents, client credentials for admin-made service clients, resource indicators choosing the
 * audience (`PUBLIC_URL` for the API, `PUBLIC_URL/mcp` for MCP), JWT access tokens (RFC 9068),
 * rotating refresh tokens. The library does the protocol; the broker supplies storage (hashed
 * ids in Redis, clients in Postgres), keys (in the secret store), who is signed in (the §9
 * session) and the pages.
 */
@Injectable()
export class AuthorizationServer implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(AuthorizationServer.name);
  private provider?: OidcProvider;
  private pages: OAuthPages = OAUTH_PAGES_UNSET;
  readonly issuer: string;
  readonly resources: { api: string; mcp: string };

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(SECRET_STORE) private readonly store: SecretStore,
    private readonly redis: RedisService,
    @InjectRepository(OAuthClientEntity) private readonly clients: Repository<OAuthClientEntity>,
    private readonly tokens: BrokerTokenVerifier,
    private readonly sessions: SessionAuthenticator,
  ) {
    this.issuer = config.publicUrl;
    this.resources = { api: config.publicUrl, mcp: `${config.publicUrl}/mcp` };
  }

  /**
   * Loads (or makes) the keys and builds the server. The secret store may be down or sealed at
   * boot (SPEC §8: never a crash): then it retries in the background, and until it has started
   * the authorization server answers 503 and broker tokens are refused.
   */
  async onModuleInit(): Promise<void> {
    await this.start().catch((err: unknown) => {
      this.logger.warn({ err }, 'authorization server not started (secret store); retrying');
      this.retry = setInterval(() => {
        void this.start().then(
          () => clearInterval(this.retry),
          () => undefined,
        );
      }, 5000);
      this.retry.unref();
    });
  }

  onModuleDestroy(): void {
    clearInterval(this.retry);
  }

  private retry?: NodeJS.Timeout;

  private async start(): Promise<void> {
    if (this.provider) return;
    const keys = await new SigningKeys(this.store).load();
    this.tokens.setKeys(publicJwks(keys));
    this.provider = this.build(keys);
    this.logger.log(`authorization server started (issuer ${this.issuer})`);
  }

  get started(): boolean {
    return this.provider !== undefined;
  }

  /** web/ draws the pages; it calls this once at start. */
  usePages(pages: OAuthPages): void {
    this.pages = pages;
  }

  get library(): OidcProvider {
    if (!this.provider) throw new Error('the authorization server has not started');
    return this.provider;
  }

  /** Hands a raw request to the library (the Fastify hook in main.ts routes them here). */
  handle(req: IncomingMessage, res: ServerResponse): void {
    if (!this.provider) {
      res.writeHead(503, { 'content-type': 'application/problem+json', 'retry-after': '5' });
      res.end(
        JSON.stringify({
          type: 'https://credential-broker.dev/errors/secret_store_unavailable',
          title: 'The secret store is unavailable',
          status: 503,
          code: 'secret_store_unavailable',
          detail: 'the authorization server has not started: its keys are in the secret store',
        }),
      );
      return;
    }
    if (req.url?.startsWith('/.well-known/oauth-authorization-server')) {
      // RFC 8414's document holds the same metadata as OIDC discovery's.
      req.url = req.url.replace(
        '/.well-known/oauth-authorization-server',
        '/.well-known/openid-configuration',
      );
    }
    this.library.callback()(req, res);
  }

  private build(keys: AuthorizationServerKeys): OidcProvider {
    const { Provider, interactionPolicy, errors } = oidcProvider();
    const { api, mcp } = this.resources;
    const ttl = this.config.oauth;
    const scope = OAUTH_SCOPES.join(' ');
    const policy = interactionPolicy.base();
    const { Check } = interactionPolicy;
    // The library's own login session must be the person of the broker session (§9): after a
    // sign-out or a sign-in as someone else it asks again, never reusing the earlier account.
    policy.get('login').checks.add(
      new Check(
        'broker_session',
        'the broker session is not the signed-in account',
        async (ctx) => {
          const accountId = ctx.oidc.session.accountId;
          if (accountId === undefined) return Check.REQUEST_PROMPT;
          return (await this.sessions.sessionUser({
            headers: { cookie: ctx.get('cookie') || undefined },
          })) === accountId
            ? Check.NO_NEED_TO_PROMPT
            : Check.REQUEST_PROMPT;
        },
      ),
    );
    const redisAdapter = hashedRedisAdapter(this.redis.client);
    const clientAdapter = postgresClientAdapter(this.clients);
    const pages = () => this.pages;
    const provider = new Provider(this.issuer, {
      adapter: function Adapter(model: string) {
        return model === 'Client' ? clientAdapter : new redisAdapter(model);
      },
      clients: [
        {
          client_id: CLI_CLIENT_ID,
          client_name: 'cbk command-line tool',
          application_type: 'native',
          token_endpoint_auth_method: 'none',
          grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
          response_types: [],
          redirect_uris: [],
        },
      ],
      jwks: { keys: keys.signing.map(({ created_at: _created, ...jwk }) => jwk) },
      cookies: {
        keys: keys.cookies,
        names: {
          session: 'cbk_oauth_session',
          interaction: 'cbk_oauth_interaction',
          resume: 'cbk_oauth_resume',
        },
      },
      scopes: ['openid', 'offline_access', ...OAUTH_SCOPES],
      claims: { openid: ['sub'] },
      responseTypes: ['code'],
      clientAuthMethods: ['none', 'client_secret_basic', 'client_secret_post'],
      clientDefaults: {
        grant_types: ['authorization_code', 'refresh_token'],
        id_token_signed_response_alg: 'ES256',
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
      },
      enabledJWA: { idTokenSigningAlgValues: ['ES256'] },
      pkce: { required: () => true },
      routes: {
        authorization: '/oauth/authorize',
        token: '/oauth/token',
        jwks: '/oauth/jwks',
        revocation: '/oauth/revoke',
        registration: '/oauth/register',
        device_authorization: '/oauth/device/auth',
        code_verification: '/oauth/device',
        end_session: '/oauth/logout',
        introspection: '/oauth/introspect',
        pushed_authorization_request: '/oauth/par',
        userinfo: '/oauth/userinfo',
        challenge: '/oauth/challenge',
        backchannel_authentication: '/oauth/backchannel',
        credential: '/oauth/credential',
      },
      interactions: {
        policy,
        url: (_ctx: unknown, interaction: { uid: string }) =>
          `/oauth/interaction/${interaction.uid}`,
      },
      features: {
        devInteractions: { enabled: false },
        userinfo: { enabled: false },
        revocation: { enabled: true },
        registration: { enabled: true },
        clientCredentials: { enabled: true },
        deviceFlow: {
          enabled: true,
          userCodeInputSource: (
            ctx: KoaContext,
            form: string,
            _out: unknown,
            err?: { userCode?: string; message?: string },
          ) => {
            ctx.type = 'html';
            ctx.body = pages().deviceCodeInput({
              form,
              error: err
                ? err.userCode
                  ? 'That code is not valid or has expired.'
                  : 'Something went wrong; enter the code again.'
                : undefined,
            });
          },
          userCodeConfirmSource: (
            ctx: KoaContext,
            form: string,
            client: { clientName?: string; clientId: string },
            _info: unknown,
            userCode: string,
          ) => {
            ctx.type = 'html';
            ctx.body = pages().deviceCodeConfirm({
              form,
              clientName: client.clientName ?? client.clientId,
              userCode,
            });
          },
          successSource: (ctx: KoaContext) => {
            ctx.type = 'html';
            ctx.body = pages().deviceDone({ clientName: ctx.oidc.client?.clientName ?? null });
          },
        },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => api,
          useGrantedResource: () => true,
          getResourceServerInfo: (_ctx: unknown, resource: string) => {
            if (resource !== api && resource !== mcp) {
              throw new errors.InvalidTarget(`resource must be ${api} or ${mcp}`);
            }
            return {
              scope,
              audience: resource,
              accessTokenTTL: ttl.accessTokenTtlSeconds,
              accessTokenFormat: 'jwt',
              jwt: { sign: { alg: 'ES256' } },
            };
          },
        },
        clientIdMetadataDocument: {
          enabled: true,
          ack: 'draft-02',
          // A metadata document is fetched over https only, from a public host.
          allowFetch: (_ctx: unknown, clientId: string) => clientId.startsWith('https://'),
        },
      },
      extraClientMetadata: { properties: ['cbk_for_user'] },
      extraTokenClaims: async (ctx: KoaContext, token: { kind: string; clientId?: string }) => {
        // A service client acts for the user an admin named (`cbk admin client create --for-user`).
        if (token.kind !== 'ClientCredentials') return undefined;
        const forUser = ctx.oidc.client?.cbkForUser ?? ctx.oidc.client?.['cbk_for_user'];
        return typeof forUser === 'string' ? { cbk_user: forUser } : undefined;
      },
      ttl: {
        AccessToken: ttl.accessTokenTtlSeconds,
        ClientCredentials: ttl.accessTokenTtlSeconds,
        AuthorizationCode: 60,
        DeviceCode: ttl.deviceCodeTtlSeconds,
        IdToken: 3600,
        Interaction: 3600,
        RefreshToken: ttl.refreshTokenTtlSeconds,
        Grant: ttl.refreshTokenTtlSeconds,
        Session: this.config.login.sessionTtlSeconds,
      },
      rotateRefreshToken: () => true,
      issueRefreshToken: (
        _ctx: unknown,
        client: { grantTypeAllowed(t: string): boolean },
        code: { scopes: Set<string> },
      ) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
      findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: () => ({ sub }) }),
      renderError: (ctx: KoaContext, out: { error?: string; error_description?: string }) => {
        ctx.type = 'html';
        ctx.body = pages().error({
          error: out.error ?? 'server_error',
          description: out.error_description ?? '',
        });
      },
    });
    provider.proxy = this.config.trustProxy !== false;
    // Client secrets are kept hashed (client-store.ts): compare the hash of what was presented.
    provider.Client.prototype.compareClientSecret = function (
      this: { clientSecret?: string },
      actual: string,
    ) {
      return this.clientSecret !== undefined && secretMatchesHash(actual, this.clientSecret);
    };
    provider.on('server_error', (_ctx: unknown, err: unknown) =>
      this.logger.error({ err }, 'authorization server error'),
    );
    return provider;
  }
}
