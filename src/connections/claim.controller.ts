import { Controller, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type FastifyReply, type FastifyRequest } from 'fastify';
import { type Caller } from '../auth/caller';
import { ActsForUser, CurrentCaller } from '../auth/decorators';
import { ZodBody, ZodResponse } from '../openapi/contract';
import { problemResponses } from '../openapi/schemas';
import { type ClaimBody, claimBody } from './claim.schemas';
import { ClaimService } from './claim.service';
import { type ConnectionView, connectionView, presentConnection } from './connection.presenter';

@ApiTags('connections')
@ApiBearerAuth()
@Controller('connections')
export class ClaimController {
  constructor(private readonly claims: ClaimService) {}

  @Post('claim')
  @ActsForUser()
  @ApiOperation({
    operationId: 'claimConnection',
    summary: 'Claim a consent: make the connection a provider callback held for its user',
    description:
      'After GET /gcp/callback or /ovh/callback the browser lands on the frontend with ' +
      '`?status=claim&claim=<code>`; the frontend posts the code here as the user who started the ' +
      'login. The code works once, for that user, within CLAIM_TTL_SECONDS. An unknown, used or ' +
      'expired code answers 404 claim_not_found, and so does a claim by any other user, which ' +
      'also revokes the grant upstream and destroys it.',
  })
  @ApiHeader({ name: 'X-On-Behalf-Of', required: false, description: 'Required for API keys: the user id' }) // prettier-ignore
  @ZodResponse(201, connectionView, 'A new connection')
  @ZodResponse(200, connectionView, 'An existing connection updated')
  @problemResponses(400, 401, 403, 404, 503)
  async claim(
    @CurrentCaller() caller: Caller,
    @ZodBody(claimBody) body: ClaimBody,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ConnectionView> {
    const { connection, created } = await this.claims.claim(caller, body.claim, req.id);
    void reply.status(created ? 201 : 200);
    return presentConnection(connection);
  }
}
