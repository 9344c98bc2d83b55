// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';

/**
 * The layering of docs/architecture.md, held by the linter: each zone names a folder (`target`)
 * and what it may not import (`from`). The core never imports a provider's own folder; the
 * entry modules (app.module.ts, worker.module.ts) are the only places that assemble them.
 */
const src = (...dirs) => dirs.map((d) => `./src/${d}`);
const PROVIDER_FOLDERS = src(
  'providers/gcp',
  'providers/azure',
  'providers/tailscale',
  'providers/ovh',
  'providers/aws',
  'providers/oauth',
);
const EVERYTHING_ABOVE_COMMON = src(
  'config',
  'database',
  'secrets',
  'redis',
  'metrics',
  'audit',
  'auth',
  'identity',
  'web',
  'jobs',
  'events',
  'lifecycle',
  'connections',
  'providers',
  'mcp',
  'openapi',
  'http',
  'health',
  'admin',
  'main.ts',
  'worker.ts',
  'cli.ts',
  'app.module.ts',
  'worker.module.ts',
);
const HTTP_AND_ENTRIES = src(
  'connections',
  'identity',
  'mcp',
  'web',
  'openapi',
  'http',
  'health',
  'admin',
  'auth',
  'main.ts',
  'worker.ts',
  'cli.ts',
  'app.module.ts',
  'worker.module.ts',
);
const LAYER_ZONES = [
  {
    target: './src/common',
    from: EVERYTHING_ABOVE_COMMON,
    message: 'common/ imports nothing above it',
  },
  {
    target: './src/config',
    from: EVERYTHING_ABOVE_COMMON.filter((d) => d !== './src/config'),
    message: 'config/ stands on common/ only',
  },
  {
    target: ['./src/database', './src/secrets'],
    from: [
      ...src('lifecycle', 'jobs', 'events', 'providers', 'redis', 'metrics', 'audit'),
      ...HTTP_AND_ENTRIES,
    ],
    message: 'database/ and secrets/ stand below the engine, the providers and the HTTP edge',
  },
  {
    // The webhook outbox and its delivery sit below the engine: lifecycle/ raises events into it
    // inside its own transactions, so events/ may not import lifecycle/ back, nor the HTTP edge.
    // The payload is the API's connection shape, so that mapping lives in database/
    // (connection-view.ts) rather than in connections/, where the edge keeps only its schema.
    target: './src/events',
    from: [...HTTP_AND_ENTRIES, ...src('lifecycle', 'providers', 'secrets')],
    message:
      'events/ is engine-level: common, config, database, redis, metrics, jobs and audit only',
  },
  {
    target: './src/lifecycle',
    from: [...HTTP_AND_ENTRIES, ...PROVIDER_FOLDERS],
    message:
      'lifecycle/ is the engine: no controllers, no HTTP, no provider folder (ask the driver)',
  },
  {
    target: src(
      'connections',
      'identity',
      'jobs',
      'auth',
      'audit',
      'health',
      'admin',
      'openapi',
      'http',
      'metrics',
      'redis',
    ),
    from: PROVIDER_FOLDERS,
    message: 'the core asks the driver interface (providers/provider.ts), never a provider folder',
  },
  {
    // The connect page stands on the HTTP edge's services (connections/, the providers' connect
    // services, auth/) like a JSON controller does; the engine and storage only through them.
    target: './src/web',
    from: src('lifecycle', 'database', 'secrets', 'jobs', 'redis', 'admin', 'health', 'openapi'),
    message: 'web/ calls the services of connections/ and the providers, not the engine or storage',
  },
  {
    // The MCP endpoint is tools over the services of connections/ and the callers of auth/,
    // like a JSON controller: the engine, storage and the providers only through them.
    target: './src/mcp',
    from: src(
      'lifecycle',
      'database',
      'secrets',
      'jobs',
      'redis',
      'providers',
      'identity',
      'web',
      'admin',
      'health',
      'http',
    ),
    message:
      'mcp/ calls the services of connections/ and auth/, not the engine, storage, a provider or the pages',
  },
  {
    target: src(
      'connections',
      'identity',
      'providers',
      'auth',
      'http',
      'lifecycle',
      'jobs',
      'admin',
      'openapi',
      'web',
    ),
    from: src('mcp'),
    message: 'nothing below the assembly imports the MCP endpoint (only app.module.ts does)',
  },
  {
    target: src(
      'connections',
      'identity',
      'providers',
      'auth',
      'http',
      'lifecycle',
      'jobs',
      'admin',
      'openapi',
    ),
    from: src('web'),
    message: 'nothing below the connect page imports it (only main.ts and app.module.ts do)',
  },
];

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'dist-*/**',
      'node_modules/**',
      'coverage/**',
      'bench/**',
      'eslint.config.mjs',
      'jest.config.js',
      'scripts/*.mjs',
      'test/support/summary-reporter.js',
      'test/.tmp/**',
      'clients/typescript/schema.d.ts',
    ],
  },
  eslint.configs.recommended,
  {
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.json'] })],
    },
    rules: { 'import-x/no-restricted-paths': ['error', { zones: LAYER_ZONES }] },
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true },
      ],
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { prefer: 'type-imports', fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-extraneous-class': 'off',
    },
  },
  {
    // The connect page's script runs in the browser, as plain ES5-ish JavaScript, untyped.
    files: ['src/web/assets/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'script',
      globals: {
        window: 'readonly',
        document: 'readonly',
        fetch: 'readonly',
        setTimeout: 'readonly',
      },
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  prettier,
);
