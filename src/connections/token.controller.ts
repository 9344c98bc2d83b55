import { Controller, Get, Header, HttpCode, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type FastifyRequest } from 'fastify';
import { type Caller } from '../auth/caller';
import { CurrentCaller, RequireScopes } from '../auth/decorators';
import { ConnectionsService } from './connections.service';
import { connectionIdParam } from './connections.schemas';
import { ZodParam, ZodQuery, ZodResponse } from '../openapi/contract';
import { problemResponses } from '../openapi/schemas';
import { ManualRefresh } from './manual-refresh';
import {
  type RefreshView,
  type TokenQuery,
  type TokenView,
  TokenService,
  refreshView,
  tokenQuery,
  tokenView,
} from './token.service';

@ApiTags('tokens')
@ApiBearerAuth()
@Controller('connections')
export class TokenController {
  constructor(
    private readonly tokens: TokenService,
    private readonly connections: ConnectionsService,
    private readonly manual: ManualRefresh,
  ) {}

  @Get(':id/token')
  @RequireScopes('tokens:read')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    operationId: 'getConnectionToken',
    summary:
      'A current access token for the connection, refreshed first when it is about to expire',
    description:
      'The default answer is `{ access_token, token_type, expires_at, scope }`; a provider whose ' +
      'credentials are not one bearer token answers its own shape (one of ConnectionToken), and ' +
      'may offer others with `?format=` (400 for a format the provider does not offer).',
  })
  @ZodResponse(200, tokenView)
  @problemResponses(400, 401, 403, 404, 409, 503)
  token(
    @CurrentCaller() caller: Caller,
    @ZodParam('id', connectionIdParam) id: string,
    @ZodQuery(tokenQuery) query: TokenQuery,
    @Req() req: FastifyRequest,
  ): Promise<TokenView> {
    return this.tokens.read(caller, id, req.id, query);
  }

  @Post(':id/refresh')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'refreshConnection',
    summary: 'Refresh the access token now, even inside the refresh window',
  })
  @ZodResponse(200, refreshView)
  @problemResponses(401, 403, 404, 409, 429, 503)
  async refresh(
    @CurrentCaller() caller: Caller,
    @ZodParam('id', connectionIdParam) id: string,
    @Req() req: FastifyRequest,
  ): Promise<RefreshView> {
    const connection = await this.connections.findOwned(caller, id);
    return this.manual.refreshNow(connection.id, caller, req.id);
  }
}
