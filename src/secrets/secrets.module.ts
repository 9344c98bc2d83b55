import {
  Global,
  Inject,
  Logger,
  Module,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { LocalSecretStore } from './local/local-secret-store';
import {
  SECRET_STORE,
  SecretStoreError,
  type SecretStore,
  type SecretStoreHealth,
} from './secret-store';
import { VaultSecretStore } from './vault/vault-secret-store';

export function createSecretStore(config: AppConfig, dataSource: DataSource): SecretStore {
  const store = config.secretStore;
  switch (store.kind) {
    case 'vault':
      return new VaultSecretStore(store);
    case 'local':
      return new LocalSecretStore(store, config.env, dataSource);
  }
}

/** For /health/ready: the store's own probe, bounded so a hung store cannot hang the probe. */
export async function checkSecretStore(
  store: SecretStore,
  timeoutMs = 5_000,
): Promise<SecretStoreHealth> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<SecretStoreHealth>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          ok: false,
          kind: store.kind,
          reason: 'unavailable',
          detail: `no answer in ${timeoutMs} ms`,
        }),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([store.health(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The `SECRET_STORE` for the whole app: Vault, or the local store on a laptop. */
@Global()
@Module({
  providers: [
    {
      provide: SECRET_STORE,
      inject: [APP_CONFIG, DataSource],
      useFactory: createSecretStore,
    },
  ],
  exports: [SECRET_STORE],
})
export class SecretsModule implements OnModuleInit, OnApplicationShutdown {
  constructor(@Inject(SECRET_STORE) private readonly store: SecretStore) {}

  private readonly logger = new Logger(SecretsModule.name);

  /**
   * A store that refuses the broker's credentials at boot is reported, not fatal: the process
   * stays up, /health/ready answers 503 with the reason, and requests needing a secret fail with
   * secret_store_unavailable until an operator fixes the credentials (SPEC: never a crash).
   */
  async onModuleInit(): Promise<void> {
    try {
      await this.store.start?.();
    } catch (err) {
      const reason = err instanceof SecretStoreError ? err.reason : 'unavailable';
      this.logger.error(
        { err, reason },
        `secret store (${this.store.kind}) did not start: ${reason}`,
      );
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.store.stop?.();
  }
}
