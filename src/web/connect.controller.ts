import {
  Body,
  Controller,
  Get,
  Inject,
  Param,
  Post,
  Query,
  Req,
  Res,
  UseFilters,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { type FastifyReply, type FastifyRequest } from 'fastify';
import { type AuthenticatedRequest } from '../auth/authenticated-request';
import { type Caller } from '../auth/caller';
import { CurrentCaller, MaybeCaller, OptionalCaller, Public } from '../auth/decorators';
import { LoginRateLimit } from '../auth/login-rate-limit';
import { SessionAuthenticator } from '../auth/session-authenticator';
import { BrokerError } from '../common/error-codes';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { ClaimService } from '../connections/claim.service';
import { ConnectionsService } from '../connections/connections.service';
import { ManualRefresh } from '../connections/manual-refresh';
import { retrySetupBody } from '../connections/setup.schemas';
import { SetupService } from '../connections/setup.service';
import { fieldErrors } from '../common/zod-pipe';
import { AwsConnectService } from '../providers/aws/aws-connect.service';
import { AzureLoginService } from '../providers/azure/azure-login.service';
import { GcpConnectService } from '../providers/gcp/gcp-connect.service';
import { OvhConnectService } from '../providers/ovh/ovh-connect.service';
import { TailscaleConnectService } from '../providers/tailscale/tailscale-connect.service';
import { SignInService } from '../identity/sign-in.service';
import { CONNECT_PATH } from './connect-csp';
import {
  type Parsed,
  SECRET_FIELDS,
  formState,
  landingQuery,
  parseAwsForm,
  parseAzureForm,
  parseClaimForm,
  parseOvhForm,
  parseTailscaleForm,
  retryBody,
} from './connect-forms';
import { type FormState, renderConnectPage } from './connect-page';
import { ConnectPageService, errorMessage, requirePerson } from './connect-page.service';
import { LOGIN_ERROR_MESSAGES, type Notice } from './messages';
import { seeOther, sendPage } from './send-page';
import { ASSET_CACHE_CONTROL, type WebAsset } from './web-assets';
import { WebErrorFilter } from './web-error.filter';

export const WEB_ASSETS = Symbol('WEB_ASSETS');

type Forms = { azure?: FormState; tailscale?: FormState; aws?: FormState };

/**
 * The connect page (SPEC §10): GET draws it for whoever is signed in; every form posts here,
 * calls the service its JSON route calls, and answers 303 to `/connect?notice=…` or, on an
 * error, the page again with the error's status and the error in words.
 */
@ApiExcludeController()
@UseFilters(WebErrorFilter)
@Controller('connect')
export class ConnectController {
  constructor(
    private readonly page: ConnectPageService,
    private readonly connections: ConnectionsService,
    private readonly setup: SetupService,
    private readonly refresher: ManualRefresh,
    private readonly claims: ClaimService,
    private readonly gcp: GcpConnectService,
    private readonly ovh: OvhConnectService,
    private readonly azure: AzureLoginService,
    private readonly tailscale: TailscaleConnectService,
    private readonly aws: AwsConnectService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WEB_ASSETS) private readonly assets: Map<string, WebAsset>,
    /** Provided by the sign-in module; absent until it is (then only the cookies are cleared). */
    private readonly sessions: SessionAuthenticator,
    private readonly signIn: SignInService,
  ) {}

  @Get()
  @OptionalCaller()
  async show(
    @MaybeCaller() caller: Caller | undefined,
    @Query() query: unknown,
    @Req() req: AuthenticatedRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const refused = req.callerRefused;
    const model = await this.page.model(caller, {
      query: landingQuery.parse(query ?? {}),
      // Signed in, but refused now: say why rather than only showing the sign-in buttons.
      alert:
        refused === 'login_not_allowed'
          ? LOGIN_ERROR_MESSAGES.login_not_allowed
          : refused === 'unauthenticated'
            ? 'Your session has ended. Sign in again.'
            : undefined,
    });
    sendPage(reply, 200, renderConnectPage(model));
  }

  @Get('assets/:name')
  @Public()
  asset(@Param('name') name: string, @Res() reply: FastifyReply): void {
    const asset = this.assets.get(name);
    if (!asset) throw new BrokerError('not_found', 'No such asset');
    void reply
      .status(200)
      .header('Cache-Control', ASSET_CACHE_CONTROL)
      .type(asset.contentType)
      .send(asset.body);
  }

  @Post('gcp')
  @LoginRateLimit()
  async connectGcp(@CurrentCaller() caller: Caller, @Res() reply: FastifyReply): Promise<void> {
    await this.attempt(caller, reply, {}, async (person) => {
      const { login_url } = await this.gcp.startLogin(person, this.pageUrl());
      seeOther(reply, login_url);
    });
  }

  @Post('ovh')
  @LoginRateLimit()
  async connectOvh(
    @CurrentCaller() caller: Caller,
    @Body() body: unknown,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.attempt(caller, reply, {}, async (person) => {
      const form = parseOvhForm(body);
      if (!form.ok) throw invalidForm(form.state);
      const { login_url } = await this.ovh.startLogin(
        person.userId,
        form.value.region,
        this.pageUrl(),
      );
      seeOther(reply, login_url);
    });
  }

  @Post('azure')
  @LoginRateLimit()
  async connectAzure(
    @CurrentCaller() caller: Caller,
    @Body() body: unknown,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.connectByForm(caller, reply, 'azure', parseAzureForm(body), (person, value) =>
      this.azure.login(person.userId, value, person, req.id),
    );
  }

  @Post('tailscale')
  @LoginRateLimit()
  async connectTailscale(
    @CurrentCaller() caller: Caller,
    @Body() body: unknown,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.connectByForm(
      caller,
      reply,
      'tailscale',
      parseTailscaleForm(body),
      (person, value) => this.tailscale.connect(person.userId, value, person, req.id),
    );
  }

  @Post('aws')
  @LoginRateLimit()
  async connectAws(
    @CurrentCaller() caller: Caller,
    @Body() body: unknown,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.connectByForm(caller, reply, 'aws', parseAwsForm(body), (person, value) =>
      this.aws.connect(person.userId, value, person, req.id),
    );
  }

  @Post('claim')
  async claim(
    @CurrentCaller() caller: Caller,
    @Body() body: unknown,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.attempt(caller, reply, {}, async (person) => {
      const form = parseClaimForm(body);
      if (!form.ok) throw new BrokerError('claim_not_found');
      await this.claims.claim(person, form.value.claim, req.id);
      this.done(reply, 'connected');
    });
  }

  @Post('connections/:id/refresh')
  async refresh(
    @CurrentCaller() caller: Caller,
    @Param('id') id: string,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.attempt(caller, reply, {}, async (person) => {
      const owned = await this.connections.findOwned(person, id);
      await this.refresher.refreshNow(owned.id, person, req.id);
      this.done(reply, 'refreshed');
    });
  }

  @Post('connections/:id/setup/retry')
  async retrySetup(
    @CurrentCaller() caller: Caller,
    @Param('id') id: string,
    @Body() body: unknown,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.attempt(caller, reply, {}, async (person) => {
      const parsed = retrySetupBody.safeParse(retryBody(body));
      if (!parsed.success) {
        throw new BrokerError('validation_failed', 'The form is not valid', {
          errors: fieldErrors(parsed.error, retryBody(body), retrySetupBody),
        });
      }
      await this.setup.retry(person, id, parsed.data, req.id);
      this.done(reply, 'setup_retried');
    });
  }

  @Post('connections/:id/disconnect')
  async disconnect(
    @CurrentCaller() caller: Caller,
    @Param('id') id: string,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.attempt(caller, reply, {}, async (person) => {
      await this.connections.remove(person, id, req.id);
      this.done(reply, 'disconnected');
    });
  }

  /**
   * Signing out needs no valid session: an expired one still leaves a cookie to clear. A session
   * that is there is deleted, Origin-checked like every write made with the cookie.
   */
  @Post('logout')
  @OptionalCaller()
  async logout(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const id = this.sessions.sessionId(req);
    if (id !== undefined) this.sessions.assertSameOrigin(req);
    void reply.header('Set-Cookie', await this.signIn.logout(id));
    this.done(reply, 'signed_out');
  }

  private pageUrl(): string {
    return `${this.config.publicUrl}${CONNECT_PATH}`;
  }

  private done(reply: FastifyReply, notice: Notice): void {
    seeOther(reply, `${CONNECT_PATH}?notice=${notice}`);
  }

  /**
   * Runs a form's action for the signed-in person; a BrokerError draws the page again with the
   * error's status, the error in words and the forms as they were sent (no secret). Anything
   * else goes to the WebErrorFilter.
   */
  /**
   * A credentials form (Azure, Tailscale, AWS): parsed, then the same service as its JSON route;
   * an error draws the page again with what was typed, never the secret.
   */
  private async connectByForm<T extends Record<string, unknown>>(
    caller: Caller,
    reply: FastifyReply,
    name: keyof Forms,
    form: Parsed<T>,
    connect: (person: ReturnType<typeof requirePerson>, value: T) => Promise<unknown>,
  ): Promise<void> {
    const again = form.ok ? formState(withoutNumbers(form.value), [], SECRET_FIELDS) : form.state;
    await this.attempt(caller, reply, { [name]: again }, async (person) => {
      if (!form.ok) throw invalidForm(form.state);
      await connect(person, form.value);
      this.done(reply, 'connected');
    });
  }

  private async attempt(
    caller: Caller,
    reply: FastifyReply,
    forms: Forms,
    action: (person: ReturnType<typeof requirePerson>) => Promise<void>,
  ): Promise<void> {
    const person = requirePerson(caller);
    try {
      await action(person);
    } catch (err) {
      if (!(err instanceof BrokerError)) throw err;
      for (const [name, value] of Object.entries(err.options.headers ?? {})) {
        if (name.toLowerCase() !== 'www-authenticate') void reply.header(name, value);
      }
      const model = await this.page.model(person, { alert: alertFor(err, forms), forms });
      sendPage(reply, err.status, renderConnectPage(model));
    }
  }
}

/** A form's values as text again (the duration is a number once parsed). */
function withoutNumbers(value: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(value).flatMap(([k, v]) =>
      typeof v === 'string' || typeof v === 'number' ? [[k, String(v)]] : [],
    ),
  );
}

/** The fields' messages are drawn next to the fields (the form state), the alert says so. */
function invalidForm(state: FormState): BrokerError {
  return new BrokerError('validation_failed', 'The form is not valid', {
    errors: Object.entries(state.errors).map(([path, message]) => ({ path, message })),
  });
}

/** The alert: the error in words; a form without fields of its own also lists what was wrong. */
function alertFor(err: BrokerError, forms: Forms): string {
  const errors = err.options.errors ?? [];
  const drawnByFields = Object.values(forms).some((f) => Object.keys(f.errors).length > 0);
  if (err.code !== 'validation_failed' || errors.length === 0 || drawnByFields) {
    return errorMessage(err);
  }
  return `The form is not valid: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}.`;
}
