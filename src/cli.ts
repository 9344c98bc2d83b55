#!/usr/bin/env node
import 'reflect-metadata';
import { Command, CommanderError } from 'commander';
import { type DataSource } from 'typeorm';
import { type ApiKeyView, ApiKeysService, isApiKeyScope } from './auth/api-keys.service';
import { BrokerError } from './common/error-codes';
import { ConfigError, requireVariable } from './config/config';
import { createDataSource } from './database/data-source';
import { ApiKeyEntity } from './database/entities/api-key.entity';
import { API_KEY_SCOPES } from './database/enums';
import { registerAdminCommands } from './cli/admin-commands';
import { CliFailure, registerUserCommands } from './cli/user-commands';

/** Exit codes: sysexits' EX_CONFIG for a bad environment, 2 for a bad command line. */
export const EXIT = { ok: 0, failure: 1, usage: 2, config: 78 } as const;

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
}

class UsageError extends Error {}

const processIo: CliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  env: process.env,
};

function parseScopes(input: string): string[] {
  const scopes = input
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const unknown = scopes.filter((s) => !isApiKeyScope(s));
  if (unknown.length > 0 || scopes.length === 0) {
    const what =
      unknown.length > 0
        ? `unknown scope ${unknown.map((s) => `"${s}"`).join(', ')}`
        : 'no scope given';
    throw new UsageError(`${what}; valid scopes: ${API_KEY_SCOPES.join(', ')}`);
  }
  return scopes;
}

function formatDate(value: Date | null): string {
  return value === null ? '-' : value.toISOString();
}

function table(keys: ApiKeyView[]): string {
  const header = ['ID', 'NAME', 'PREFIX', 'SCOPES', 'CREATED', 'LAST USED', 'REVOKED'];
  const rows = keys.map((k) => [
    k.id,
    k.name,
    k.prefix,
    k.scopes.join(','),
    formatDate(k.createdAt),
    formatDate(k.lastUsedAt),
    formatDate(k.revokedAt),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [header, ...rows]
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function describeKey(key: ApiKeyView): string {
  return [
    `id:      ${key.id}`,
    `name:    ${key.name}`,
    `prefix:  ${key.prefix}`,
    `scopes:  ${key.scopes.join(',')}`,
    `created: ${formatDate(key.createdAt)}`,
  ].join('\n');
}

/** Opens the database for one command; the CLI needs DATABASE_URL and nothing else. */
async function withApiKeys<T>(io: CliIo, fn: (keys: ApiKeysService) => Promise<T>): Promise<T> {
  const dataSource: DataSource = createDataSource(requireVariable('DATABASE_URL', io.env));
  await dataSource.initialize();
  try {
    return await fn(new ApiKeysService(dataSource.getRepository(ApiKeyEntity)));
  } finally {
    await dataSource.destroy();
  }
}

function buildProgram(io: CliIo): Command {
  const program = new Command('cbk')
    .description(
      'The credential broker: sign in and read tokens (login, connections, token), and operate it (api-key, admin)',
    )
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError();
  const apiKey = program.command('api-key').description('Manage service API keys');

  apiKey
    .command('create')
    .description('Create a key; it is printed once on stdout, its details on stderr')
    .requiredOption('--name <name>', 'what the key is for')
    .requiredOption('--scopes <scopes>', `comma-separated: ${API_KEY_SCOPES.join(', ')}`)
    .action(async (options: { name: string; scopes: string }) => {
      const scopes = parseScopes(options.scopes);
      const { key, apiKey: created } = await withApiKeys(io, (keys) =>
        keys.create(options.name, scopes),
      );
      io.stdout(`${key}\n`);
      io.stderr(
        `API key created. The key above is shown only this once: store it now.\n${describeKey(created)}\n`,
      );
    });

  apiKey
    .command('list')
    .description('List keys (never the keys or their hashes)')
    .option('--json', 'print JSON instead of a table')
    .action(async (options: { json?: boolean }) => {
      const keys = await withApiKeys(io, (s) => s.list());
      io.stdout(options.json === true ? `${JSON.stringify(keys, null, 2)}\n` : `${table(keys)}\n`);
    });

  apiKey
    .command('revoke')
    .description('Revoke a key by id or by prefix (cbk_xxxxxxxx)')
    .argument('<id-or-prefix>')
    .action(async (idOrPrefix: string) => {
      const result = await withApiKeys(io, (keys) => keys.revoke(idOrPrefix));
      switch (result.outcome) {
        case 'revoked':
          io.stdout(`revoked ${result.key.prefix} (${result.key.id}, ${result.key.name})\n`);
          return;
        case 'already_revoked':
          io.stdout(
            `${result.key.prefix} (${result.key.id}) was already revoked at ${formatDate(result.key.revokedAt)}\n`,
          );
          return;
        case 'not_found':
          throw new Error(`no API key has the id or prefix "${idOrPrefix}"`);
        case 'ambiguous':
          throw new UsageError(`several API keys share the prefix "${idOrPrefix}"; revoke by id`);
      }
    });
  registerUserCommands(program, io);
  registerAdminCommands(program, io);
  return program;
}

/** Runs one CLI command and returns its exit code; never calls process.exit. */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are "errors" to commander; commander already printed its message.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof CliFailure) {
      io.stderr(`error: ${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof UsageError) {
      io.stderr(`error: ${err.message}\n`);
      return EXIT.usage;
    }
    if (err instanceof BrokerError && err.code === 'validation_failed') {
      io.stderr(`error: ${err.message}\n`);
      return EXIT.usage;
    }
    if (err instanceof ConfigError) {
      io.stderr(`${err.message}\n`);
      return EXIT.config;
    }
    // Only the message: a database error object can carry query parameters (a key hash).
    io.stderr(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.failure;
  }
}

if (require.main === module) {
  runCli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = EXIT.failure;
    },
  );
}
