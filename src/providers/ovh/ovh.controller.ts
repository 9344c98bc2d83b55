import { Body, Controller, Inject, Query, Req } from '@nestjs/common';
import { ApiBody, ApiTags } from '@nestjs/swagger';
import { type FastifyRequest } from 'fastify';
import { type Caller, requireActingUser } from '../../auth/caller';
import { CurrentCaller } from '../../auth/decorators';
import { BrokerError } from '../../common/error-codes';
import { ZodPipe } from '../../common/zod-pipe';
import { APP_CONFIG, type AppConfig, OVH_REGIONS } from '../../config/config';
import { OVH_CALLBACK_ERROR_CODES, OvhConnectService } from './ovh-connect.service';
import { type OvhLoginBody, ovhLoginBody } from './ovh.schemas';
import { callbackQuery } from '../oauth/authorization-code-callback';
import { OAuthCallbackRoute, OAuthLoginRoute } from '../oauth/oauth-routes';

@ApiTags('ovh')
@Controller('ovh')
export class OvhController {
  constructor(
    private readonly connect: OvhConnectService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @OAuthLoginRoute('Start connecting OVHcloud in a region: a one-time consent URL for the browser')
  @ApiBody({
    schema: {
      type: 'object',
      additionalProperties: false,
      required: ['region'],
      properties: {
        region: { type: 'string', enum: [...OVH_REGIONS] },
        redirect_to: {
          type: 'string',
          description: "Where the callback sends the browser; must be on FRONTEND_URL's origin",
        },
      },
    },
  })
  login(
    @CurrentCaller() caller: Caller,
    @Body(new ZodPipe(ovhLoginBody)) body: OvhLoginBody,
  ): Promise<{ login_url: string; state_expires_at: string }> {
    const userId = requireActingUser(caller);
    return this.connect.startLogin(userId, body.region, body.redirect_to);
  }

  /** OVH's redirect: always a 302 to the frontend; only a broker without OVH answers 404. */
  @OAuthCallbackRoute(
    'ovh',
    "OVHcloud's redirect after consent (registered as PUBLIC_URL/ovh/callback)",
    OVH_CALLBACK_ERROR_CODES,
  )
  async callback(
    @Query() query: Record<string, unknown>,
    @Req() req: FastifyRequest,
  ): Promise<{ url: string; statusCode: number }> {
    if (!this.config.ovh.enabled) {
      throw new BrokerError('provider_disabled', 'The ovh provider is not enabled on this broker');
    }
    const url = await this.connect.completeLogin(callbackQuery(query), req.id);
    return { url, statusCode: 302 };
  }
}

/** A repeated parameter (`?state=a&state=b`) is as good as none. */
