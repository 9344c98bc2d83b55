import { Module } from '@nestjs/common';
import { ConnectionStoreModule } from '../../connections/connection-store.module';

/**
 * The Ovh connector: its routes, its client (the SDK edge) and its driver. The driver is
 * provided under DRIVER_TOKENS.ovh and exported, and ProvidersModule collects it.
 */
@Module({
  imports: [ConnectionStoreModule],
  controllers: [],
  providers: [],
  exports: [],
})
export class OvhModule {}
