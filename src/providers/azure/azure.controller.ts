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
import { AzureLoginService } from './azure-login.service';
import { type AzureLoginBody, azureLoginBody } from './azure.schemas';

@ApiTags('azure')
@ApiBearerAuth()
@Controller('azure')
export class AzureController {
  constructor(private readonly logins: AzureLoginService) {}

  @Post('login')
  @ActsForUser()
  @LoginRateLimit()
  @ApiOperation({
    operationId: 'azureLogin',
    summary: 'Connect an Azure subscription with a service principal (client credentials)',
    description:
      'Gets an ARM token for the principal, lists its subscriptions and connects the requested ' +
      'one (it must be Enabled) or the first Enabled one. 201 for a new connection, 200 when the ' +
      'same tenant/subscription was already connected (the secret is replaced). When the client ' +
      'secret expires is read from Microsoft Graph within 3 s and never fails the login: ' +
      '`metadata.secret_expires_at`, or null with `metadata.secret_expiry_unknown` ' +
      '(`graph_forbidden`, `graph_unavailable`, `not_found`).',
  })
  @ApiHeader({ name: 'X-On-Behalf-Of', required: false, description: 'Required for API keys: the user id' }) // prettier-ignore
  @ZodResponse(201, connectionView, 'A new connection')
  @ZodResponse(200, connectionView, 'An existing connection updated')
  @problemResponses(400, 401, 403, 422, 429, 503)
  async login(
    @CurrentCaller() caller: Caller,
    @ZodBody(azureLoginBody) body: AzureLoginBody,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ConnectionView> {
    const userId = requireActingUser(caller);
    const { connection, created } = await this.logins.login(userId, body, caller, req.id);
    void reply.status(created ? 201 : 200);
    return presentConnection(connection);
  }
}
