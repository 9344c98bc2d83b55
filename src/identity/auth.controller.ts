import {
  Controller,
  Get,
  Header,
  HttpCode,
  Post,
  Redirect,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type FastifyReply, type FastifyRequest } from 'fastify';
import { type Caller } from '../auth/caller';
import {
  CurrentCaller,
  MaybeCaller,
  OptionalCaller,
  Public,
  RequireScopes,
} from '../auth/decorators';
import { SessionAuthenticator } from '../auth/session-authenticator';
import { BrokerError } from '../common/error-codes';
import { RefuseHeadGuard } from '../http/refuse-head.guard';
import { ZodQuery, ZodResponse } from '../openapi/contract';
import { problemResponses } from '../openapi/schemas';
import {
  type AuthStatusView,
  type LoginQuery,
  authStatusView,
  callerView as callerViewSchema,
  loginQuery,
} from './auth.schemas';
import { type CallerView, SignInService, callerView } from './sign-in.service';

/** Static on purpose: nothing of the person's is echoed into a page served with the API's CSP. */
const NOT_ALLOWED_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Not allowed - credential broker</title></head>
<body><main><h1>This account may not sign in here</h1>
<p>You signed in with an account that is not on this broker's allow-list
(LOGIN_ALLOWED_USERS or LOGIN_ALLOWED_DOMAINS). Ask the broker's operator to add it, or sign in
with another account.</p>
<p><a href="/connect">Back to the connect page</a></p></main></body></html>
`;

/**
 * `/auth/*` (SPEC §9): the endpoints of a login proxy. `/auth/me` is the ingress check (nginx
 * `auth_request`, ingress-nginx `auth-url`, Traefik ForwardAuth): any caller of §3, no database
 * write, the user in `X-Auth-Request-User` / `-Email`.
 */
@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly signIn: SignInService,
    private readonly sessions: SessionAuthenticator,
  ) {}

  @Get('status')
  @OptionalCaller()
  @ApiOperation({
    operationId: 'authStatus',
    summary: 'Whether sign-in is on, with which providers, and who is calling (if anyone)',
  })
  @ZodResponse(200, authStatusView)
  status(@MaybeCaller() caller: Caller | undefined): AuthStatusView {
    return {
      enabled: this.signIn.enabled,
      providers: this.signIn.providerKinds(),
      authenticated: caller !== undefined,
      ...(caller ? { user: callerView(caller) } : {}),
    };
  }

  @Get('login')
  @Public()
  @Redirect()
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    operationId: 'authLogin',
    summary: 'Sign in: a redirect to the identity provider',
    description:
      'A one-time state (stored hashed), PKCE S256 and, for OIDC, a nonce; the provider redirects ' +
      'back to PUBLIC_URL/auth/callback. 404 login_disabled while LOGIN_PROVIDERS is unset.',
  })
  @ZodResponse(302, null, "To the identity provider's authorize page")
  @problemResponses(400, 404)
  async login(
    @ZodQuery(loginQuery) query: LoginQuery,
  ): Promise<{ url: string; statusCode: number }> {
    return {
      url: await this.signIn.start(query.provider, query.redirect_to ?? query.rd),
      statusCode: 302,
    };
  }

  @Get('callback')
  @Public()
  @UseGuards(RefuseHeadGuard)
  @ApiOperation({
    operationId: 'authCallback',
    summary: "The identity provider's redirect: starts the session and returns to redirect_to",
    description:
      'Registered at the identity provider as PUBLIC_URL/auth/callback. Sets the session cookie ' +
      'and redirects to redirect_to; an error redirects to /connect?login=error&code=' +
      '(invalid_state|state_expired|access_denied|exchange_failed|identity_failed|provider_unavailable). ' +
      'An identity outside the allow-list gets 403 login_not_allowed (a page for browsers).',
  })
  @ZodResponse(302, null, 'To redirect_to, or to the connect page with the error')
  @problemResponses(403, 404, 405)
  async callback(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const rawQuery = req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '';
    const outcome = await this.signIn.complete(rawQuery, req.id);
    void reply.header('Cache-Control', 'no-store').header('Referrer-Policy', 'no-referrer');
    switch (outcome.kind) {
      case 'signed_in':
        await reply.header('Set-Cookie', outcome.setCookie).redirect(outcome.location, 302);
        return;
      case 'failed':
        await reply.redirect(outcome.location, 302);
        return;
      case 'not_allowed':
        if ((req.headers.accept ?? '').includes('text/html')) {
          await reply.status(403).type('text/html; charset=utf-8').send(NOT_ALLOWED_PAGE);
          return;
        }
        throw new BrokerError(
          'login_not_allowed',
          'this account is not on the allow-list (LOGIN_ALLOWED_USERS / LOGIN_ALLOWED_DOMAINS)',
        );
    }
  }

  @Get('me')
  @RequireScopes()
  @ApiBearerAuth()
  @ApiOperation({
    operationId: 'authMe',
    summary: 'Who is calling: the ingress check',
    description:
      'Any caller (session cookie or Authorization). 200 with X-Auth-Request-User and ' +
      'X-Auth-Request-Email; 401 without a valid caller; 403 login_not_allowed for a session ' +
      'whose person is no longer allowed. No database write, so an ingress may call it on every request.',
  })
  @ZodResponse(200, callerViewSchema)
  @problemResponses(401, 403, 429, 503)
  me(@CurrentCaller() caller: Caller, @Res({ passthrough: true }) reply: FastifyReply): CallerView {
    const view = callerView(caller);
    void reply.header('X-Auth-Request-User', view.id);
    if (view.email !== null) void reply.header('X-Auth-Request-Email', view.email);
    return view;
  }

  @Post('logout')
  @Public()
  @HttpCode(204)
  @ApiOperation({
    operationId: 'authLogout',
    summary: 'Sign out: the session is deleted and the cookie cleared',
    description: "With the session cookie the Origin must be the broker's (403 csrf_rejected).",
  })
  @ZodResponse(204, null, 'Signed out')
  @problemResponses(403)
  async logout(
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    const id = this.sessions.sessionId(req);
    if (id !== undefined) this.sessions.assertSameOrigin(req);
    void reply.header('Set-Cookie', await this.signIn.logout(id));
  }
}
