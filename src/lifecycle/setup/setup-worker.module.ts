import { Module } from '@nestjs/common';
import { SetupRunsRepository } from '../../database/repositories/setup-runs.repository';
import { ConnectionStoreModule } from '../connection-store.module';
import { LifecycleCoreModule } from '../lifecycle-core.module';
import { ACCESS_TOKEN_SOURCE } from './access-token-source';
import { RefreshingAccessTokens } from './refreshing-access-tokens';
import { SetupRunner } from './setup-runner';
import { SetupProcessor } from './setup.processor';

/**
 * The worker side of setup: the `setup` queue's processor and the generic runner. The steps come
 * from each provider's driver (`CredentialProvider.setup`, through the registry); a provider
 * whose steps drifted from its definition stops the worker at start
 * ({@link SetupRunner.assertHandlers}).
 */
@Module({
  imports: [ConnectionStoreModule, LifecycleCoreModule],
  providers: [
    SetupRunsRepository,
    SetupRunner,
    SetupProcessor,
    { provide: ACCESS_TOKEN_SOURCE, useClass: RefreshingAccessTokens },
  ],
})
export class SetupWorkerModule {}
