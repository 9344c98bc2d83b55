import { Controller, Get, Post, Req, Res } from '@nestjs/common';
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
import { AwsConnectService } from './aws-connect.service';
import {
  type AwsConnectBody,
  type AwsExternalIdView,
  awsConnectBody,
  awsExternalIdView,
} from './aws.schemas';

@ApiTags('aws')
@ApiBearerAuth()
@Controller('aws')
export class AwsController {
  constructor(private readonly aws: AwsConnectService) {}

  @Get('external-id')
  @ActsForUser()
  @ApiOperation({
    operationId: 'awsExternalId',
    summary: "The user's AWS external id, the broker's principal and the trust policy to attach",
    description:
      'The external id is made on first use and never changes. Attach the trust policy to the ' +
      'role the broker should assume, then POST /aws/connect with its ARN.',
  })
  @ApiHeader({ name: 'X-On-Behalf-Of', required: false, description: 'Required for API keys: the user id' }) // prettier-ignore
  @ZodResponse(200, awsExternalIdView)
  @problemResponses(401, 403, 404, 503)
  externalId(@CurrentCaller() caller: Caller): Promise<AwsExternalIdView> {
    return this.aws.externalId(requireActingUser(caller));
  }

  @Post('connect')
  @ActsForUser()
  @LoginRateLimit()
  @ApiOperation({
    operationId: 'awsConnect',
    summary: 'Connect an AWS role: the broker assumes it with your external id',
    description:
      'Checks the ARN, calls STS AssumeRole with your external id, then makes sure the role ' +
      'refuses the broker without it (else 422 aws_external_id_not_enforced and nothing is ' +
      'stored). 201 for a new connection, 200 when the same role was already connected.',
  })
  @ApiHeader({ name: 'X-On-Behalf-Of', required: false, description: 'Required for API keys: the user id' }) // prettier-ignore
  @ZodResponse(201, connectionView, 'A new connection')
  @ZodResponse(200, connectionView, 'An existing connection updated')
  @problemResponses(400, 401, 403, 404, 422, 429, 503)
  async connect(
    @CurrentCaller() caller: Caller,
    @ZodBody(awsConnectBody) body: AwsConnectBody,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ConnectionView> {
    const userId = requireActingUser(caller);
    const { connection, created } = await this.aws.connect(userId, body, caller, req.id);
    void reply.status(created ? 201 : 200);
    return presentConnection(connection);
  }
}
