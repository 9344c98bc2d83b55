import { Controller, Get, Header, Headers, Inject } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '../auth/decorators';
import { BrokerError } from '../common/error-codes';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { METRICS_CHALLENGE, metricsScrapeAllowed } from './metrics-token';
import { MetricsService } from './metrics.service';

@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Prometheus text. Open, unless METRICS_TOKEN is set: then `Authorization: Bearer <token>`. */
  @Public()
  @Get()
  @Header('Cache-Control', 'no-store')
  async scrape(@Headers('authorization') authorization?: string): Promise<string> {
    if (!metricsScrapeAllowed(this.config.metricsToken, authorization)) {
      throw new BrokerError('unauthenticated', 'Send the metrics token as a bearer token', {
        headers: { 'WWW-Authenticate': METRICS_CHALLENGE },
      });
    }
    return this.metrics.registry.metrics();
  }
}
