import { Module } from '@nestjs/common';
import { DRIVER_TOKENS } from '../provider';
import { OvhClient } from './ovh-client';
import { OvhDriver } from './ovh.driver';

/**
 * The Ovh driver and the client it talks through: what the worker needs (refresh, revoke), without
 * the connector's routes. The HTTP side (OvhModule) builds on it.
 */
@Module({
  providers: [OvhClient, OvhDriver, { provide: DRIVER_TOKENS.ovh, useExisting: OvhDriver }],
  exports: [DRIVER_TOKENS.ovh, OvhClient, OvhDriver],
})
export class OvhDriverModule {}
