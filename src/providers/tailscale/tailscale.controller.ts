import { Controller, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type FastifyReply, type FastifyRequest } from 'fastify';
import { type Caller, requireActingUser } from '../../auth/caller';
import { ActsForUser, CurrentCaller } from '../../auth/decorators';
import { LoginRateLimit } from '../../auth/login-rate-limit';
import {
  type ConnectionView,
  connectionView,
  presentConnection,
} from '../../connections/connection.presenter';
import { ZodBody, ZodResponse } from '../../openapi/contract';
import { problemResponses } from '../../openapi/schemas';
import { TailscaleConnectService } from './tailscale-connect.service';
import { type TailscaleConnectBody, tailscaleConnectBody } from './tailscale.schemas';

@ApiTags('tailscale')
@ApiBearerAuth()
@Controller('tailscale')
export class TailscaleController {
  constructor(private readonly connections: TailscaleConnectService) {}

  @Post('connect')
  @ActsForUser()
  @LoginRateLimit()
  @ApiOperation({
    operationId: 'tailscaleConnect',
    summary: 'Connect a tailnet with a Tailscale OAuth client (client credentials)',
    description:
      'Mints a token, validates it by listing the tailnet devices, stores the client and queues ' +
      'setup (ACL tag owner, auth key, SSH key pair): setup_status starts `pending`. 201 for a new ' +
      'connection, 200 when the same tailnet was already connected (the secret is replaced).',
  })
  @ApiHeader({ name: 'X-On-Behalf-Of', required: false, description: 'Required for API keys: the user id' }) // prettier-ignore
  @ZodResponse(201, connectionView, 'A new connection')
  @ZodResponse(200, connectionView, 'An existing connection updated')
  @problemResponses(400, 401, 403, 422, 429, 503)
  async connect(
    @CurrentCaller() caller: Caller,
    @ZodBody(tailscaleConnectBody) body: TailscaleConnectBody,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ConnectionView> {
    const userId = requireActingUser(caller);
    const { connection, created } = await this.connections.connect(userId, body, caller, req.id);
    void reply.status(created ? 201 : 200);
    return presentConnection(connection);
  }
}
