import { Controller, HttpCode, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type FastifyRequest } from 'fastify';
import { type Caller, actingUserId } from '../../auth/caller';
import { CurrentCaller } from '../../auth/decorators';
import { BrokerError } from '../../common/error-codes';
import { ConnectionsService } from '../../connections/connections.service';
import { RefreshStateRepository } from '../../database/repositories/refresh-state.repository';
import { ZodBody, ZodResponse } from '../../openapi/contract';
import { problemResponses } from '../../openapi/schemas';
import { ProviderRegistry } from '../provider-registry';
import {
  type TailscaleRefreshBody,
  type TailscaleRefreshView,
  tailscaleRefreshBody,
  tailscaleRefreshView,
} from './tailscale.schemas';
import { ManualRefresh } from '../../connections/manual-refresh';

@ApiTags('tailscale')
@ApiBearerAuth()
@Controller('tailscale')
export class TailscaleRefreshController {
  constructor(
    private readonly connections: ConnectionsService,
    private readonly lifecycle: RefreshStateRepository,
    private readonly providers: ProviderRegistry,
    private readonly manual: ManualRefresh,
  ) {}

  @Post('refresh-token')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'tailscaleRefreshToken',
    summary:
      'Re-mint the Tailscale access token now; connection_id may be left out when the user has exactly one Tailscale connection',
  })
  @ZodResponse(200, tailscaleRefreshView)
  @problemResponses(400, 401, 403, 404, 409, 429, 503)
  async refresh(
    @CurrentCaller() caller: Caller,
    @ZodBody(tailscaleRefreshBody) body: TailscaleRefreshBody,
    @Req() req: FastifyRequest,
  ): Promise<TailscaleRefreshView> {
    this.providers.get('tailscale');
    const connectionId = await this.pick(caller, body.connection_id);
    const view = await this.manual.refreshNow(connectionId, caller, req.id);
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
