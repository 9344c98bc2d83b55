import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type FastifyRequest } from 'fastify';
import { z } from 'zod';
import { type Caller, actingUserId } from '../auth/caller';
import { CurrentCaller } from '../auth/decorators';
import { BrokerError } from '../common/error-codes';
import { ZodPipe } from '../common/zod-pipe';
import { ConnectionsService } from '../connections/connections.service';
import { ConnectionLifecycleRepository } from '../database/repositories/connection-lifecycle.repository';
import { problemResponses } from '../openapi/schemas';
import { ProviderRegistry } from '../providers/provider-registry';
import { RefreshRateLimit } from './refresh-rate-limit';
import { RefreshService } from './refresh.service';
import { refreshNow } from './token.controller';

const tailscaleRefreshBody = z
  .object({ connection_id: z.string().uuid('must be a connection id').optional() })
  .strict()
  .optional()
  .transform((body) => body ?? {});

type TailscaleRefreshBody = z.infer<typeof tailscaleRefreshBody>;

@ApiTags('tailscale')
@ApiBearerAuth()
@Controller('tailscale')
export class TailscaleRefreshController {
  constructor(
    private readonly connections: ConnectionsService,
    private readonly lifecycle: ConnectionLifecycleRepository,
    private readonly providers: ProviderRegistry,
    private readonly refresher: RefreshService,
    private readonly rateLimit: RefreshRateLimit,
  ) {}

  @Post('refresh-token')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Re-mint the Tailscale access token now; connection_id may be left out when the user has exactly one Tailscale connection',
  })
  @ApiBody({
    required: false,
    schema: {
      type: 'object',
      additionalProperties: false,
      properties: { connection_id: { type: 'string', format: 'uuid' } },
    },
  })
  @ApiOkResponse({
    schema: {
      type: 'object',
      required: ['connection_id', 'expires_at'],
      properties: {
        connection_id: { type: 'string', format: 'uuid' },
        expires_at: { type: 'string', format: 'date-time' },
      },
    },
  })
  @problemResponses(400, 401, 403, 404, 409, 429, 503)
  async refresh(
    @CurrentCaller() caller: Caller,
    @Body(new ZodPipe(tailscaleRefreshBody)) body: TailscaleRefreshBody,
    @Req() req: FastifyRequest,
  ): Promise<{ connection_id: string; expires_at: string | null }> {
    this.providers.get('tailscale');
    const connectionId = await this.pick(caller, body.connection_id);
    const view = await refreshNow(this.rateLimit, this.refresher, connectionId, caller, req.id);
    return { connection_id: connectionId, expires_at: view.expires_at };
  }

  private async pick(caller: Caller, connectionId: string | undefined): Promise<string> {
    if (connectionId !== undefined) {
      const found = await this.connections.findOwned(caller, connectionId);
      // Another provider's connection is "no such Tailscale connection", like a missing one.
      if (found.provider !== 'tailscale') throw new BrokerError('not_found', 'No such connection');
      return found.id;
    }
    const userId = actingUserId(caller);
    if (userId === undefined) {
      throw new BrokerError('validation_failed', 'The body is not valid', {
        errors: [
          {
            path: 'connection_id',
            message: 'is required for an API key that does not send X-On-Behalf-Of',
          },
        ],
      });
    }
    const mine = await this.lifecycle.findLiveOfUser(userId, 'tailscale', 2);
    const only = mine[0];
    if (only === undefined) throw new BrokerError('not_found', 'No Tailscale connection');
    if (mine.length > 1) {
      throw new BrokerError('validation_failed', 'The body is not valid', {
        errors: [
          {
            path: 'connection_id',
            message: 'is required when there is more than one Tailscale connection',
          },
        ],
      });
    }
    return only.id;
  }
}
