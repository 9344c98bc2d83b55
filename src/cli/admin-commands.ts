import { createHash, randomBytes } from 'node:crypto';
import { type Command } from 'commander';
import { loadConfig } from '../config/config';
import { createDataSource } from '../database/data-source';
import { OAuthClientEntity } from '../database/entities';
import { createSecretStore } from '../secrets/secrets.module';
import { SigningKeys } from '../identity/authorization-server/signing-keys';
import { CliFailure, USER_EXIT } from './user-commands';

const SERVICE_SCOPES = ['connections:read', 'connections:write', 'tokens:read'];

export interface AdminCliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
}

/**
 * Operator commands of the authorization server (SPEC §11): service clients for CI (the OAuth
 * alternative to an API key) and signing-key rotation. They run where the broker runs, with its
 * environment (DATABASE_URL, the secret store's variables).
 */
export function registerAdminCommands(program: Command, io: AdminCliIo): void {
  const admin = program.command('admin').description('Operate the authorization server');
  const client = admin.command('client').description('Service clients (client credentials grant)');

  client
    .command('create')
    .description('Register a service client; its secret is printed once on stdout')
    .requiredOption('--name <name>', 'what the client is for')
    .requiredOption('--scopes <scopes>', `comma-separated: ${SERVICE_SCOPES.join(', ')}`)
    .requiredOption('--for-user <id>', 'the user whose connections the client may use')
    .action(async (options: { name: string; scopes: string; forUser: string }) => {
      const scopes = options.scopes
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const unknown = scopes.filter((s) => !SERVICE_SCOPES.includes(s));
      if (scopes.length === 0 || unknown.length > 0) {
        throw new CliFailure(
          `--scopes must be some of ${SERVICE_SCOPES.join(', ')}`,
          USER_EXIT.usage,
        );
      }
      const config = loadConfig(io.env);
      const dataSource = createDataSource(config.database.url);
      await dataSource.initialize();
      try {
        const clientId = `cbk_svc_${randomBytes(9).toString('base64url')}`;
        const secret = randomBytes(32).toString('base64url');
        await dataSource.getRepository(OAuthClientEntity).insert({
          clientId,
          kind: 'service',
          secretHash: createHash('sha256').update(secret).digest('hex'),
          metadata: {
            client_name: options.name,
            grant_types: ['client_credentials'],
            response_types: [],
            redirect_uris: [],
            token_endpoint_auth_method: 'client_secret_basic',
            scope: scopes.join(' '),
            cbk_for_user: options.forUser,
          },
        });
        io.stdout(`${secret}\n`);
        io.stderr(
          [
            'Service client created. The secret above is shown only this once: store it now.',
            `client_id:  ${clientId}`,
            `scopes:     ${scopes.join(' ')}`,
            `for user:   ${options.forUser}`,
            `token:      POST ${config.publicUrl}/oauth/token grant_type=client_credentials&scope=${scopes.join('+')}&resource=${config.publicUrl} (HTTP Basic client_id:secret)`,
            '',
          ].join('\n'),
        );
      } finally {
        await dataSource.destroy();
      }
    });

  admin
    .command('rotate-signing-key')
    .description('Sign new tokens with a new key; old keys verify until their tokens expire')
    .action(async () => {
      const config = loadConfig(io.env);
      const dataSource = createDataSource(config.database.url);
      await dataSource.initialize();
      const store = createSecretStore(config, dataSource);
      try {
        await store.start?.();
        const result = await new SigningKeys(store).rotate(
          Math.max(config.oauth.accessTokenTtlSeconds, 3600),
        );
        io.stdout(`${result.kid}\n`);
        io.stderr(
          `New signing key ${result.kid}; kept for verification: ${result.kept.join(', ') || 'none'}; dropped: ${result.dropped.join(', ') || 'none'}. Restart the api replicas to sign with it.\n`,
        );
      } finally {
        await store.stop?.();
        await dataSource.destroy();
      }
    });
}
