import { Controller, Delete, Get, HttpCode, Param, Query, Req } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import { type FastifyRequest } from 'fastify';
import { type Caller } from '../auth/caller';
import { ActsForUser, CurrentCaller } from '../auth/decorators';
import { ZodPipe } from '../common/zod-pipe';
import { CONNECTION_STATUSES, PROVIDERS } from '../database/enums';
import { problemResponses, schemaRef } from '../openapi/schemas';
import { type ConnectionView } from './connection.presenter';
import { type ListConnectionsQuery, listConnectionsQuery } from './connections.schemas';
import { ConnectionsService } from './connections.service';

@ApiTags('connections')
@ApiBearerAuth()
@Controller('connections')
export class ConnectionsController {
  constructor(private readonly connections: ConnectionsService) {}

  @Get()
  @ActsForUser()
  @ApiOperation({ summary: "List the user's connections (metadata only), newest first" })
  @ApiHeader({
    name: 'X-On-Behalf-Of',
    required: false,
    description: 'Required for API keys: the user id',
  })
  @ApiQuery({ name: 'provider', required: false, enum: PROVIDERS })
  @ApiQuery({ name: 'status', required: false, enum: CONNECTION_STATUSES })
  @ApiQuery({
    name: 'limit',
    required: false,
    schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
  })
  @ApiQuery({ name: 'cursor', required: false, description: 'next_cursor from the previous page' })
  @ApiOkResponse({
    schema: {
      type: 'object',
      required: ['items', 'next_cursor'],
      properties: {
        items: { type: 'array', items: schemaRef('Connection') },
        next_cursor: { type: 'string', nullable: true },
      },
    },
  })
  @problemResponses(400, 401, 403)
  list(
    @CurrentCaller() caller: Caller,
    @Query(new ZodPipe(listConnectionsQuery, 'query')) query: ListConnectionsQuery,
  ): Promise<{ items: ConnectionView[]; next_cursor: string | null }> {
    return this.connections.list(caller, query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One connection' })
  @ApiOkResponse({ schema: schemaRef('Connection') })
  @problemResponses(401, 403, 404)
  get(@CurrentCaller() caller: Caller, @Param('id') id: string): Promise<ConnectionView> {
    return this.connections.get(caller, id);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Disconnect: revoke upstream, destroy the secret, mark the connection revoked',
    description:
      'A failed upstream revoke is audited and does not stop the local deletion. ' +
      'Deleting an already revoked connection answers 204 again.',
  })
  @ApiNoContentResponse({ description: 'Revoked (or already revoked)' })
  @problemResponses(401, 403, 404, 503)
  remove(
    @CurrentCaller() caller: Caller,
    @Param('id') id: string,
    @Req() req: FastifyRequest,
  ): Promise<void> {
    return this.connections.remove(caller, id, req.id);
  }
}
