import { Controller, Get, HttpCode, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type FastifyRequest } from 'fastify';
import { type Caller } from '../auth/caller';
import { CurrentCaller } from '../auth/decorators';
import { connectionIdParam } from './connections.schemas';
import { ZodBody, ZodParam, ZodResponse } from '../openapi/contract';
import { problemResponses } from '../openapi/schemas';
import { type RetrySetupBody, type SetupView, retrySetupBody, setupView } from './setup.schemas';
import { SetupService } from './setup.service';

@ApiTags('connections')
@ApiBearerAuth()
@Controller('connections')
export class SetupController {
  constructor(private readonly setup: SetupService) {}

  @Get(':id/setup')
  @ApiOperation({
    operationId: 'getConnectionSetup',
    summary: "The connection's post-connect setup: status, steps, progress",
  })
  @ZodResponse(200, setupView)
  @problemResponses(401, 403, 404)
  get(
    @CurrentCaller() caller: Caller,
    @ZodParam('id', connectionIdParam) id: string,
  ): Promise<SetupView> {
    return this.setup.get(caller, id);
  }

  @Post(':id/setup/retry')
  @HttpCode(202)
  @ApiOperation({
    operationId: 'retryConnectionSetup',
    summary:
      'Runs setup again (finished steps are skipped); GCP takes { project_ids } when setup asked for a selection',
  })
  @ZodResponse(202, setupView, 'Setup queued again')
  @problemResponses(400, 401, 403, 404, 409)
  retry(
    @CurrentCaller() caller: Caller,
    @ZodParam('id', connectionIdParam) id: string,
    @ZodBody(retrySetupBody) body: RetrySetupBody,
    @Req() request: FastifyRequest,
  ): Promise<SetupView> {
    return this.setup.retry(caller, id, body, request.id);
  }
}
