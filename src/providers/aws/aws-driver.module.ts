import { Module } from '@nestjs/common';
import { DRIVER_TOKENS } from '../provider';
import { AwsStsClient } from './aws-sts.client';
import { AwsDriver } from './aws.driver';

/**
 * The AWS driver and the STS client it talks through: what the worker needs (refresh, revoke),
 * without the connector's routes. The HTTP side (AwsModule) builds on it.
 */
@Module({
  providers: [AwsStsClient, AwsDriver, { provide: DRIVER_TOKENS.aws, useExisting: AwsDriver }],
  exports: [DRIVER_TOKENS.aws, AwsStsClient, AwsDriver],
})
export class AwsDriverModule {}
