import { Controller, Get, Inject, Param, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { type FastifyReply, type FastifyRequest } from 'fastify';
import { type Caller, sessionUserId } from '../auth/caller';
import { CurrentCaller, MaybeCaller, OptionalCaller } from '../auth/decorators';
import { APP_CONFIG, type AppConfig } from '../config/config';
import {
  AuthorizationServer,
  type OidcInteraction,
} from '../identity/authorization-server/authorization-server';
import { oauthPageCsp } from '../identity/authorization-server/mount';
import { SignInService } from '../identity/sign-in.service';
import { LOGIN_PROVIDER_LABELS } from './messages';
import { OAUTH_PAGES, renderConsentPage, renderSignInChoice } from './oauth-pages';

const LIBRARY_SCOPES = new Set(['openid', 'offline_access']);

/**
 * The authorization server's interactions (SPEC §11) as pages of the broker: the person signs in
 * through §9 (the broker session is the login), then sees the client's name, where it returns
 * and the scopes it asks for, and allows or denies. The protocol state is the library's; these
 * routes only read it and report the person's answer.
 */
@ApiExcludeController()
@Controller('oauth/interaction')
export class OAuthInteractionController {
  constructor(
    private readonly server: AuthorizationServer,
    private readonly signIn: SignInService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get(':uid')
  @OptionalCaller()
  async show(
    @Param('uid') uid: string,
    @MaybeCaller() caller: Caller | undefined,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const details = await this.details(req, reply, uid);
    if (!details) return;
    const user = sessionUserId(caller);
    if (details.prompt.name === 'login' || user === undefined) {
      if (user !== undefined) {
        reply.hijack();
        await this.server.library.interactionFinished(
          req.raw,
          reply.raw,
          { login: { accountId: user } },
          { mergeWithLastSubmission: false },
        );
        return;
      }
      this.askToSignIn(reply, uid);
      return;
    }
    const clientId = details.params.client_id ?? '';
    const client = await this.server.library.Client.find(clientId);
    const redirect = details.params.redirect_uri;
    const redirectOrigin = redirect ? safeOrigin(redirect) : null;
    const missing = (details.prompt.details.missingResourceScopes ?? {}) as Record<
      string,
      string[]
    >;
    const scopes = [
      ...new Set([
        ...Object.values(missing).flat(),
        ...((details.prompt.details.missingOIDCScope as string[] | undefined) ?? []).filter(
          (s) => s === 'offline_access',
        ),
      ]),
    ];
    this.page(
      reply,
      200,
      renderConsentPage({
        uid,
        clientName: client?.clientName ?? clientId,
        clientId,
        redirectOrigin,
        scopes,
        resources: Object.keys(missing).length > 0 ? Object.keys(missing) : [this.config.publicUrl],
        userLabel: caller?.kind === 'user' ? (caller.session?.name ?? caller.userId) : '',
      }),
      redirectOrigin,
    );
  }

  /** Allow: the grant gets what the client asked for; the library continues the flow. */
  @Post(':uid/confirm')
  async confirm(
    @Param('uid') uid: string,
    @CurrentCaller() caller: Caller,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const details = await this.details(req, reply, uid);
    if (!details) return;
    const user = sessionUserId(caller);
    if (user === undefined || details.session?.accountId !== user) {
      this.askToSignIn(reply, uid);
      return;
    }
    const library = this.server.library;
    const grant =
      (details.grantId ? await library.Grant.find(details.grantId) : undefined) ??
      new library.Grant({ accountId: user, clientId: details.params.client_id ?? '' });
    const oidcScopes = (details.prompt.details.missingOIDCScope as string[] | undefined) ?? [];
    if (oidcScopes.length > 0) grant.addOIDCScope(oidcScopes.join(' '));
    const missing = (details.prompt.details.missingResourceScopes ?? {}) as Record<
      string,
      string[]
    >;
    for (const [resource, scopes] of Object.entries(missing)) {
      grant.addResourceScope(resource, scopes.filter((s) => !LIBRARY_SCOPES.has(s)).join(' '));
    }
    const grantId = await grant.save();
    reply.hijack();
    await library.interactionFinished(
      req.raw,
      reply.raw,
      { consent: { grantId } },
      { mergeWithLastSubmission: true },
    );
  }

  @Post(':uid/abort')
  async abort(
    @Param('uid') uid: string,
    @CurrentCaller() _caller: Caller,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const details = await this.details(req, reply, uid);
    if (!details) return;
    reply.hijack();
    await this.server.library.interactionFinished(
      req.raw,
      reply.raw,
      { error: 'access_denied', error_description: 'The person denied the request' },
      { mergeWithLastSubmission: false },
    );
  }

  private async details(
    req: FastifyRequest,
    reply: FastifyReply,
    uid: string,
  ): Promise<OidcInteraction | undefined> {
    if (!this.server.started) {
      this.page(
        reply,
        503,
        OAUTH_PAGES.error({
          error: 'temporarily_unavailable',
          description:
            'The broker cannot sign anyone in right now (its secret store is unavailable). Try again shortly.',
        }),
      );
      return undefined;
    }
    try {
      const details = await this.server.library.interactionDetails(req.raw, reply.raw);
      if (details.uid === uid) return details;
    } catch {
      // an unknown, expired or foreign interaction: the same page
    }
    this.page(
      reply,
      400,
      OAUTH_PAGES.error({
        error: 'interaction_expired',
        description:
          'This sign-in request has expired or was already used. Start again from the application.',
      }),
    );
    return undefined;
  }

  private askToSignIn(reply: FastifyReply, uid: string): void {
    const back = `/oauth/interaction/${encodeURIComponent(uid)}`;
    if (!this.signIn.enabled) {
      this.page(
        reply,
        503,
        renderSignInChoice({
          links: [],
          message:
            'Sign-in is not configured on this broker (LOGIN_PROVIDERS), so nobody can approve an application here.',
        }),
      );
      return;
    }
    const links = this.signIn.providerKinds().map((kind) => ({
      href: `/auth/login?provider=${kind}&redirect_to=${encodeURIComponent(back)}`,
      label: LOGIN_PROVIDER_LABELS[kind],
    }));
    if (links.length === 1) {
      void reply.header('Cache-Control', 'no-store').redirect(links[0].href, 303);
      return;
    }
    this.page(reply, 200, renderSignInChoice({ links }));
  }

  private page(
    reply: FastifyReply,
    status: number,
    body: string,
    formOrigin: string | null = null,
  ): void {
    // Chrome applies form-action to the redirect after a form post: the client's redirect_uri.
    const csp = oauthPageCsp(this.config, formOrigin ?? undefined);
    void reply
      .status(status)
      .header('Content-Security-Policy', csp)
      .header('Cache-Control', 'no-store')
      .header('Referrer-Policy', 'same-origin')
      .type('text/html; charset=utf-8')
      .send(body);
  }
}

function safeOrigin(url: string): string | null {
  try {
    const origin = new URL(url).origin;
    return origin === 'null' ? null : origin;
  } catch {
    return null;
  }
}
