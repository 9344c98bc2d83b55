import { Body, Controller, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiBody,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { type SchemaObject } from '@nestjs/swagger';
import { type FastifyRequest } from 'fastify';
import { type Caller } from '../auth/caller';
import { CurrentCaller } from '../auth/decorators';
import { ZodPipe } from '../common/zod-pipe';
import { SETUP_STATUSES } from '../database/enums';
import { problemResponses } from '../openapi/schemas';
import { type RetrySetupBody, type SetupView, retrySetupBody } from './setup.schemas';
import { SetupService } from './setup.service';

const SETUP_VIEW_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['status', 'progress', 'steps'],
  properties: {
    status: { type: 'string', enum: [...SETUP_STATUSES] },
    progress: { type: 'integer', minimum: 0, maximum: 100 },
    current_step: { type: 'string', nullable: true },
    steps: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'status'],
        properties: {
          name: { type: 'string' },
          status: {
            type: 'string',
            enum: ['pending', 'running', 'succeeded', 'skipped', 'partial', 'failed'],
          },
          detail: { type: 'string' },
          error_code: { type: 'string' },
        },
      },
    },
    result: { type: 'object', additionalProperties: true },
    error_code: { type: 'string' },
    eligible_projects: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          project_id: { type: 'string' },
          name: { type: 'string' },
          billing_enabled: { type: 'boolean' },
        },
      },
    },
    selection: { type: 'array', items: { type: 'string' } },
    attempts: { type: 'integer' },
    updated_at: { type: 'string', format: 'date-time', nullable: true },
    finished_at: { type: 'string', format: 'date-time', nullable: true },
  },
};

@ApiTags('connections')
@ApiBearerAuth()
@Controller('connections')
export class SetupController {
  constructor(private readonly setup: SetupService) {}

  @Get(':id/setup')
  @ApiOperation({ summary: "The connection's post-connect setup: status, steps, progress" })
  @ApiOkResponse({ schema: SETUP_VIEW_SCHEMA })
  @problemResponses(401, 403, 404)
  get(@CurrentCaller() caller: Caller, @Param('id') id: string): Promise<SetupView> {
    return this.setup.get(caller, id);
  }

  @Post(':id/setup/retry')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Runs setup again (finished steps are skipped); GCP takes { project_ids } when setup asked for a selection',
  })
  @ApiBody({
    required: false,
    schema: {
      type: 'object',
      additionalProperties: false,
      properties: { project_ids: { type: 'array', items: { type: 'string' }, minItems: 1 } },
    },
  })
  @ApiAcceptedResponse({ schema: SETUP_VIEW_SCHEMA })
  @problemResponses(400, 401, 403, 404, 409)
  retry(
    @CurrentCaller() caller: Caller,
    @Param('id') id: string,
    @Body(new ZodPipe(retrySetupBody)) body: RetrySetupBody,
    @Req() request: FastifyRequest,
  ): Promise<SetupView> {
    return this.setup.retry(caller, id, body, request.id);
  }
}
