import { Controller, Inject, Req } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { type FastifyRequest } from 'fastify';
import { type Caller, requireActingUser, sessionUserId } from '../../auth/caller';
import { CurrentCaller, MaybeCaller } from '../../auth/decorators';
import { BrokerError } from '../../common/error-codes';
import { APP_CONFIG, type AppConfig } from '../../config/config';
import { ZodBody, ZodQuery } from '../../openapi/contract';
import { OVH_CALLBACK_ERROR_CODES, OvhConnectService } from './ovh-connect.service';
import { type OvhLoginBody, ovhLoginBody } from './ovh.schemas';
import { callbackQuery, callbackQuerySchema } from '../oauth/authorization-code-callback';
import { type LoginUrlView, OAuthCallbackRoute, OAuthLoginRoute } from '../oauth/oauth-routes';

@ApiTags('ovh')
@Controller('ovh')
export class OvhController {
  constructor(
    private readonly connect: OvhConnectService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @OAuthLoginRoute(
    'ovhLogin',
    'Start connecting OVHcloud in a region: a one-time consent URL for the browser',
  )
  login(
    @CurrentCaller() caller: Caller,
    @ZodBody(ovhLoginBody) body: OvhLoginBody,
  ): Promise<LoginUrlView> {
    const userId = requireActingUser(caller);
    return this.connect.startLogin(userId, body.region, body.redirect_to);
  }

  /** OVH's redirect: always a 302 to the frontend; only a broker without OVH answers 404. */
  @OAuthCallbackRoute(
    'ovh',
    'ovhCallback',
    "OVHcloud's redirect after consent (registered as PUBLIC_URL/ovh/callback)",
    OVH_CALLBACK_ERROR_CODES,
  )
  async callback(
    @ZodQuery(callbackQuerySchema) query: Record<string, unknown>,
    @Req() req: FastifyRequest,
    @MaybeCaller() caller: Caller | undefined,
  ): Promise<{ url: string; statusCode: number }> {
    if (!this.config.ovh.enabled) {
      throw new BrokerError('provider_disabled', 'The ovh provider is not enabled on this broker');
    }
    const url = await this.connect.completeLogin(
      callbackQuery(query),
      req.id,
      sessionUserId(caller),
    );
    return { url, statusCode: 302 };
  }
}
