import { Controller, Delete, Get, HttpCode, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type FastifyRequest } from 'fastify';
import { type Caller } from '../auth/caller';
import { ActsForUser, CurrentCaller } from '../auth/decorators';
import { ZodParam, ZodQuery, ZodResponse } from '../openapi/contract';
import { problemResponses } from '../openapi/schemas';
import { type ConnectionView, connectionView } from './connection.presenter';
import {
  type ConnectionPage,
  type ListConnectionsQuery,
  connectionIdParam,
  connectionPage,
  listConnectionsQuery,
} from './connections.schemas';
import { ConnectionsService } from './connections.service';

@ApiTags('connections')
@ApiBearerAuth()
@Controller('connections')
export class ConnectionsController {
  constructor(private readonly connections: ConnectionsService) {}

  @Get()
  @ActsForUser()
  @ApiOperation({
    operationId: 'listConnections',
    summary: "List the user's connections (metadata only), newest first",
  })
  @ApiHeader({
    name: 'X-On-Behalf-Of',
    required: false,
    description: 'Required for API keys: the user id',
  })
  @ZodResponse(200, connectionPage)
  @problemResponses(400, 401, 403)
  list(
    @CurrentCaller() caller: Caller,
    @ZodQuery(listConnectionsQuery) query: ListConnectionsQuery,
  ): Promise<ConnectionPage> {
    return this.connections.list(caller, query);
  }

  @Get(':id')
  @ApiOperation({ operationId: 'getConnection', summary: 'One connection' })
  @ZodResponse(200, connectionView)
  @problemResponses(401, 403, 404)
  get(
    @CurrentCaller() caller: Caller,
    @ZodParam('id', connectionIdParam) id: string,
  ): Promise<ConnectionView> {
    return this.connections.get(caller, id);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({
    operationId: 'deleteConnection',
    summary: 'Disconnect: undo setup and revoke upstream, destroy the secret, mark it revoked',
    description:
      'What setup made upstream (GCP service accounts, their keys and bindings; the Tailscale ' +
      'auth key) is deleted where the grant still allows, then the grant is revoked. What could ' +
      'not be removed is logged, audited and reported in the connection.revoked webhook; it ' +
      'does not stop the local deletion. ' +
      'Deleting an already revoked connection answers 204 again.',
  })
  @ZodResponse(204, null, 'Revoked (or already revoked)')
  @problemResponses(401, 403, 404, 503)
  remove(
    @CurrentCaller() caller: Caller,
    @ZodParam('id', connectionIdParam) id: string,
    @Req() req: FastifyRequest,
  ): Promise<void> {
    return this.connections.remove(caller, id, req.id);
  }
}
