import { Controller, Get, Header, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type FastifyRequest } from 'fastify';
import { type Caller, callerActor } from '../auth/caller';
import { CurrentCaller, RequireScopes } from '../auth/decorators';
import { ConnectionsService } from '../connections/connections.service';
import { problemResponses } from '../openapi/schemas';
import { RefreshRateLimit } from './refresh-rate-limit';
import { RefreshService } from './refresh.service';
import { type TokenView, TokenService } from './token.service';

export interface RefreshView {
  expires_at: string | null;
  refreshed_at: string | null;
}

@ApiTags('tokens')
@ApiBearerAuth()
@Controller('connections')
export class TokenController {
  constructor(
    private readonly tokens: TokenService,
    private readonly connections: ConnectionsService,
    private readonly refresher: RefreshService,
    private readonly rateLimit: RefreshRateLimit,
  ) {}

  @Get(':id/token')
  @RequireScopes('tokens:read')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary:
      'A current access token for the connection, refreshed first when it is about to expire',
  })
  @ApiOkResponse({
    schema: {
      type: 'object',
      required: ['access_token', 'token_type', 'expires_at', 'scope'],
      properties: {
        access_token: { type: 'string' },
        token_type: { type: 'string', example: 'Bearer' },
        expires_at: { type: 'string', format: 'date-time' },
        scope: { type: 'string', description: 'Space-separated scopes' },
      },
    },
  })
  @problemResponses(401, 403, 404, 409, 503)
  token(
    @CurrentCaller() caller: Caller,
    @Param('id') id: string,
    @Req() req: FastifyRequest,
  ): Promise<TokenView> {
    return this.tokens.read(caller, id, req.id);
  }

  @Post(':id/refresh')
  @HttpCode(200)
  @ApiOperation({ summary: 'Refresh the access token now, even inside the refresh window' })
  @ApiOkResponse({
    schema: {
      type: 'object',
      required: ['expires_at', 'refreshed_at'],
      properties: {
        expires_at: { type: 'string', format: 'date-time' },
        refreshed_at: { type: 'string', format: 'date-time' },
      },
    },
  })
  @problemResponses(401, 403, 404, 409, 429, 503)
  async refresh(
    @CurrentCaller() caller: Caller,
    @Param('id') id: string,
    @Req() req: FastifyRequest,
  ): Promise<RefreshView> {
    const connection = await this.connections.findOwned(caller, id);
    return refreshNow(this.rateLimit, this.refresher, connection.id, caller, req.id);
  }
}

/** The manual refresh both endpoints share: rate limited per connection, then forced. */
export async function refreshNow(
  rateLimit: RefreshRateLimit,
  refresher: RefreshService,
  connectionId: string,
  caller: Caller,
  requestId?: string,
): Promise<RefreshView> {
  await rateLimit.hit(connectionId);
  const outcome = await refresher.refresh(connectionId, {
    trigger: 'manual',
    force: true,
    actor: callerActor(caller),
    requestId,
  });
  return {
    expires_at: outcome.connection.expiresAt?.toISOString() ?? null,
    refreshed_at: outcome.connection.lastRefreshedAt?.toISOString() ?? null,
  };
}
