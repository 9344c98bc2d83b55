import { inspect } from 'node:util';
import type { VaultStoreConfig } from '../../../src/secrets/vault/vault-secret-store';
import type { FakeVault } from '../../fakes/vault/fake-vault';

export function vaultConfig(
  fake: FakeVault,
  overrides: Partial<VaultStoreConfig> = {},
): VaultStoreConfig {
  return {
    kind: 'vault',
    addr: fake.url,
    token: fake.rootToken,
    kvMount: 'secret',
    pathPrefix: 'credential-broker',
    timeoutMs: 2_000,
    ...overrides,
  };
}

/** Every way an error might end up printed: none may contain any of `secrets`. */
export function expectNoSecretsIn(err: unknown, secrets: string[]): void {
  const e = err as Error;
  const renderings = [
    String(err),
    e.message,
    JSON.stringify(err),
    inspect(err, { depth: 10 }),
    e.stack ?? '',
  ];
  for (const text of renderings) {
    for (const secret of secrets) expect(text).not.toContain(secret);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until `check` holds, failing after `timeoutMs`. */
export async function eventually(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await sleep(25);
  }
}
