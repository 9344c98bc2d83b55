import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Global, Module, type DynamicModule } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../../../src/config/config';
import { LocalSecretStore } from '../../../src/secrets/local/local-secret-store';
import { SECRET_STORE, type SecretStore } from '../../../src/secrets/secret-store';
import { SecretsModule, checkSecretStore } from '../../../src/secrets/secrets.module';
import { VaultSecretStore } from '../../../src/secrets/vault/vault-secret-store';
import { startFakeVault, type FakeVault } from '../../fakes/vault/fake-vault';
import { InMemorySecretStore } from '../../support/in-memory-secret-store';
import { testConfig } from '../../support/test-config';
import { sleep, vaultConfig } from './vault-support';

let fake: FakeVault;

beforeAll(async () => {
  fake = await startFakeVault();
});

afterAll(async () => {
  await fake.close();
});

/** What the app's ConfigModule and DatabaseModule provide globally. */
function appWith(config: AppConfig): DynamicModule {
  @Global()
  @Module({})
  class Globals {}
  return {
    module: Globals,
    providers: [
      { provide: APP_CONFIG, useValue: config },
      { provide: DataSource, useValue: {} as DataSource },
    ],
    exports: [APP_CONFIG, DataSource],
  };
}

async function boot(config: AppConfig) {
  const moduleRef = await Test.createTestingModule({
    imports: [appWith(config), SecretsModule],
  }).compile();
  moduleRef.useLogger(false);
  const app = await moduleRef.init(); // runs onModuleInit; close() runs onApplicationShutdown
  return { app, store: app.get<SecretStore>(SECRET_STORE) };
}

it('provides the Vault store, logs in on init and stops renewing on shutdown', async () => {
  fake.addAppRole('module-role', 'module-secret', { ttl: 1 });
  const secretStore = vaultConfig(fake, {
    token: undefined,
    appRole: { roleId: 'module-role', secretId: 'module-secret', mount: 'approle' },
  });
  const { app, store } = await boot(testConfig({ env: 'test', secretStore }));
  expect(store).toBeInstanceOf(VaultSecretStore);
  expect(fake.calls.filter((c) => c.path === '/v1/auth/approle/login')).toHaveLength(1);
  await expect(checkSecretStore(store)).resolves.toMatchObject({ ok: true, kind: 'vault' });
  await app.close();
  const before = fake.calls.length;
  await sleep(1_000); // a live 1 s token would have been renewed by now
  expect(fake.calls.length).toBe(before);
});

it('provides the local store outside production', async () => {
  const secretStore = { kind: 'local' as const, key: randomBytes(32), pathPrefix: 'p' };
  const { app, store } = await boot(testConfig({ env: 'development', secretStore }));
  expect(store).toBeInstanceOf(LocalSecretStore);
  await app.close();
});

it('refuses to boot with the local store in production', async () => {
  const secretStore = { kind: 'local' as const, key: randomBytes(32), pathPrefix: 'p' };
  await expect(boot(testConfig({ env: 'production', secretStore }))).rejects.toThrow(
    /NODE_ENV=production/,
  );
});

it('bounds a health probe that never answers', async () => {
  const hung = new InMemorySecretStore();
  hung.health = () => new Promise(() => undefined);
  await expect(checkSecretStore(hung, 50)).resolves.toMatchObject({
    ok: false,
    reason: 'unavailable',
  });
});
