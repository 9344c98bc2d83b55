import { Controller, Get, Header, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { type FastifyReply } from 'fastify';
import { Public } from '../auth/decorators';
import { ZodResponse } from '../openapi/contract';
import {
  type ReadinessReport,
  ReadinessService,
  liveness,
  readinessReport,
} from './readiness.service';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(private readonly readiness: ReadinessService) {}

  /** The process is up. No dependency is checked: a failing database must not get the pod killed. */
  @Public()
  @Get('live')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ operationId: 'getLiveness', summary: 'The process is running' })
  @ZodResponse(200, liveness, 'The process is running')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Postgres, Redis and the secret store answer. 503 with the failing checks otherwise. */
  @Public()
  @Get('ready')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    operationId: 'getReadiness',
    summary: 'Postgres, Redis and the secret store answer',
  })
  @ZodResponse(200, readinessReport, 'Every dependency answers')
  @ZodResponse(503, readinessReport, 'At least one dependency does not answer')
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<ReadinessReport> {
    const report = await this.readiness.check();
    if (report.status !== 'ok') void reply.status(503);
    return report;
  }
}
