import { Controller, Req } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { type FastifyRequest } from 'fastify';
import { type Caller, sessionUserId } from '../../auth/caller';
import { CurrentCaller, MaybeCaller } from '../../auth/decorators';
import { ZodBody, ZodQuery } from '../../openapi/contract';
import { GCP_CALLBACK_ERROR_CODES, GcpConnectService } from './gcp-connect.service';
import { type GcpLoginBody, gcpLoginBody } from './gcp.schemas';
import { callbackQuery, callbackQuerySchema } from '../oauth/authorization-code-callback';
import { type LoginUrlView, OAuthCallbackRoute, OAuthLoginRoute } from '../oauth/oauth-routes';

@ApiTags('gcp')
@Controller('gcp')
export class GcpController {
  constructor(private readonly connect: GcpConnectService) {}

  @OAuthLoginRoute(
    'gcpLogin',
    'Start connecting Google Cloud: a one-time consent URL for the browser to open',
  )
  login(
    @CurrentCaller() caller: Caller,
    @ZodBody(gcpLoginBody) body: GcpLoginBody,
  ): Promise<LoginUrlView> {
    return this.connect.startLogin(caller, body.redirect_to);
  }

  @OAuthCallbackRoute(
    'gcp',
    'gcpCallback',
    "Google's redirect after consent (registered as PUBLIC_URL/gcp/callback)",
    GCP_CALLBACK_ERROR_CODES,
  )
  async callback(
    @ZodQuery(callbackQuerySchema) query: Record<string, unknown>,
    @Req() req: FastifyRequest,
    @MaybeCaller() caller: Caller | undefined,
  ): Promise<{ url: string; statusCode: number }> {
    this.connect.assertEnabled();
    const url = await this.connect.completeLogin(
      callbackQuery(query),
      req.id,
      sessionUserId(caller),
    );
    return { url, statusCode: 302 };
  }
}
