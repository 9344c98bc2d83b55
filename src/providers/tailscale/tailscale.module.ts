import { Module } from '@nestjs/common';
import { ConnectionStoreModule } from '../../connections/connection-store.module';

/**
 * The Tailscale connector: its routes, its client (the SDK edge) and its driver. The driver is
 * provided under DRIVER_TOKENS.tailscale and exported, and ProvidersModule collects it.
 */
@Module({
  imports: [ConnectionStoreModule],
  controllers: [],
  providers: [],
  exports: [],
})
export class TailscaleModule {}
