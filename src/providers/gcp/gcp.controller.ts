import {
  Body,
  Controller,
  Get,
  Header,
  HttpCode,
  Post,
  Query,
  Redirect,
  Req,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { type FastifyRequest } from 'fastify';
import { type Caller } from '../../auth/caller';
import { ActsForUser, CurrentCaller, Public } from '../../auth/decorators';
import { LoginRateLimit } from '../../common/rate-limit';
import { ZodPipe } from '../../common/zod-pipe';
import { problemResponses } from '../../openapi/schemas';
import { GcpConnectService } from './gcp-connect.service';
import { type GcpLoginBody, gcpLoginBody } from './gcp.schemas';

@ApiTags('gcp')
@Controller('gcp')
export class GcpController {
  constructor(private readonly connect: GcpConnectService) {}

  @Post('login')
  @HttpCode(200)
  @ActsForUser()
  @LoginRateLimit()
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'Start connecting Google Cloud: a one-time consent URL for the browser to open',
  })
  @ApiHeader({
    name: 'X-On-Behalf-Of',
    required: false,
    description: 'Required for API keys: the user id',
  })
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
    @Body(new ZodPipe(gcpLoginBody)) body: GcpLoginBody,
  ): Promise<{ login_url: string; state_expires_at: string }> {
    return this.connect.startLogin(caller, body.redirect_to);
  }

  /**
   * Google's redirect. Always a 302 to the frontend (`status=connected` or `status=error&code=…`),
   * whatever went wrong; only a disabled provider answers 404.
   */
  @Get('callback')
  @Public()
  @Redirect()
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: "Google's redirect after consent (registered as PUBLIC_URL/gcp/callback)",
    description:
      'Redirects to redirect_to (or FRONTEND_URL) with ?provider=gcp&status=connected&connection_id=… ' +
      'or ?provider=gcp&status=error&code=(access_denied|invalid_state|state_expired|' +
      'exchange_failed|insufficient_scope|missing_refresh_token|internal_error).',
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
    this.connect.assertEnabled();
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
