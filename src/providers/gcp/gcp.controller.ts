import { Body, Controller, Query, Req } from '@nestjs/common';
import { ApiBody, ApiTags } from '@nestjs/swagger';
import { type FastifyRequest } from 'fastify';
import { type Caller } from '../../auth/caller';
import { CurrentCaller } from '../../auth/decorators';
import { ZodPipe } from '../../common/zod-pipe';
import { GCP_CALLBACK_ERROR_CODES, GcpConnectService } from './gcp-connect.service';
import { type GcpLoginBody, gcpLoginBody } from './gcp.schemas';
import { callbackQuery } from '../oauth/authorization-code-callback';
import { OAuthCallbackRoute, OAuthLoginRoute } from '../oauth/oauth-routes';

@ApiTags('gcp')
@Controller('gcp')
export class GcpController {
  constructor(private readonly connect: GcpConnectService) {}

  @OAuthLoginRoute('Start connecting Google Cloud: a one-time consent URL for the browser to open')
  @ApiBody({
    required: false,
    schema: {
      type: 'object',
      additionalProperties: false,
      properties: {
        redirect_to: {
          type: 'string',
          description: "Where the callback sends the browser; must be on FRONTEND_URL's origin",
        },
      },
    },
  })
  login(
    @CurrentCaller() caller: Caller,
    @Body(new ZodPipe(gcpLoginBody)) body: GcpLoginBody,
  ): Promise<{ login_url: string; state_expires_at: string }> {
    return this.connect.startLogin(caller, body.redirect_to);
  }

  /**
   * Google's redirect. Always a 302 to the frontend (`status=connected` or `status=error&code=…`),
   * whatever went wrong; only a disabled provider answers 404.
   */
  @OAuthCallbackRoute(
    'gcp',
    "Google's redirect after consent (registered as PUBLIC_URL/gcp/callback)",
    GCP_CALLBACK_ERROR_CODES,
  )
  async callback(
    @Query() query: Record<string, unknown>,
    @Req() req: FastifyRequest,
  ): Promise<{ url: string; statusCode: number }> {
    this.connect.assertEnabled();
    const url = await this.connect.completeLogin(callbackQuery(query), req.id);
    return { url, statusCode: 302 };
  }
}

/** A repeated parameter (`?state=a&state=b`) is as good as none. */
