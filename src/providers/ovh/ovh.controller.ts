import {
  Body,
  Controller,
  Get,
  Header,
  HttpCode,
  Inject,
  Post,
  Query,
  Redirect,
  Req,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { type FastifyRequest } from 'fastify';
import { type Caller, actingUserId } from '../../auth/caller';
import { ActsForUser, CurrentCaller, Public } from '../../auth/decorators';
import { BrokerError } from '../../common/error-codes';
import { LoginRateLimit } from '../../common/rate-limit';
import { ZodPipe } from '../../common/zod-pipe';
import { APP_CONFIG, type AppConfig, OVH_REGIONS } from '../../config/config';
import { problemResponses } from '../../openapi/schemas';
import { OvhConnectService } from './ovh-connect.service';
import { type OvhLoginBody, ovhLoginBody } from './ovh.schemas';

@ApiTags('ovh')
@Controller('ovh')
export class OvhController {
  constructor(
    private readonly connect: OvhConnectService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post('login')
  @HttpCode(200)
  @ActsForUser()
  @LoginRateLimit()
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'Start connecting OVHcloud in a region: a one-time consent URL for the browser',
  })
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
  @ApiOkResponse({
    schema: {
      type: 'object',
      required: ['login_url', 'state_expires_at'],
      properties: {
        login_url: { type: 'string', format: 'uri' },
        state_expires_at: { type: 'string', format: 'date-time' },
      },
    },
  })
  @problemResponses(400, 401, 403, 404, 429)
  login(
    @CurrentCaller() caller: Caller,
    @Body(new ZodPipe(ovhLoginBody)) body: OvhLoginBody,
  ): Promise<{ login_url: string; state_expires_at: string }> {
    const userId = actingUserId(caller);
    if (userId === undefined) throw new BrokerError('forbidden', 'a login is made for one user');
    return this.connect.startLogin(userId, body.region, body.redirect_to);
  }

  /** OVH's redirect: always a 302 to the frontend; only a broker without OVH answers 404. */
  @Get('callback')
  @Public()
  @Redirect()
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: "OVHcloud's redirect after consent (registered as PUBLIC_URL/ovh/callback)",
    description:
      'Redirects to redirect_to (or FRONTEND_URL) with ?provider=ovh&status=connected&connection_id=… ' +
      'or ?provider=ovh&status=error&code=(access_denied|invalid_state|state_expired|' +
      'exchange_failed|missing_refresh_token|provider_disabled|internal_error).',
  })
  @ApiQuery({ name: 'state', required: false })
  @ApiQuery({ name: 'code', required: false })
  @ApiQuery({ name: 'error', required: false })
  @ApiResponse({ status: 302, description: 'To the frontend, with the outcome in the query' })
  @problemResponses(404)
  async callback(
    @Query() query: Record<string, unknown>,
    @Req() req: FastifyRequest,
  ): Promise<{ url: string; statusCode: number }> {
    if (!this.config.ovh.enabled) {
      throw new BrokerError('provider_disabled', 'The ovh provider is not enabled on this broker');
    }
    const url = await this.connect.completeLogin(
      { state: one(query.state), code: one(query.code), error: one(query.error) },
      req.id,
    );
    return { url, statusCode: 302 };
  }
}

/** A repeated parameter (`?state=a&state=b`) is as good as none. */
function one(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
