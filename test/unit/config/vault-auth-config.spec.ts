import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/config';
import { configProblems } from '../../support/test-config';

/** VAULT_AUTH_METHOD and the variables of each method (token, AppRole, Kubernetes). */

const base = (extra: Record<string, string | undefined>): Record<string, string | undefined> => ({
  PUBLIC_URL: 'https://broker.example.com/',
  DATABASE_URL: 'postgres://u@localhost/db',
  REDIS_URL: 'redis://localhost:6379',
  AUTH_JWT_SECRET: 'x'.repeat(32),
  VAULT_ADDR: 'https://vault.example.com',
  ...extra,
});

const problemsOf = configProblems;

it('infers kubernetes from VAULT_K8S_ROLE, with the default mount and token file', () => {
  const config = loadConfig(base({ VAULT_K8S_ROLE: 'credential-broker' }));
  expect(config.secretStore).toEqual(
    expect.objectContaining({
      kind: 'vault',
      kubernetes: {
        role: 'credential-broker',
        mount: 'kubernetes',
        jwtFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
      },
    }),
  );
  expect(config.secretStore).not.toHaveProperty('token');
});

it('takes an explicit method over the credentials that happen to be present', () => {
  const config = loadConfig(
    base({
      VAULT_AUTH_METHOD: 'kubernetes',
      VAULT_K8S_ROLE: 'r',
      VAULT_K8S_MOUNT: 'k8s-prod',
      VAULT_K8S_TOKEN_FILE: '/run/sa/token',
      VAULT_TOKEN: 'hvs.ignored-static-token',
    }),
  );
  expect(config.secretStore).toMatchObject({
    kubernetes: { role: 'r', mount: 'k8s-prod', jwtFile: '/run/sa/token' },
  });
  expect(config.secretStore).not.toHaveProperty('token', 'hvs.ignored-static-token');
});

it('names what the chosen method is missing', () => {
  expect(problemsOf(base({ VAULT_AUTH_METHOD: 'kubernetes' }))).toEqual([
    'VAULT_K8S_ROLE is required when VAULT_AUTH_METHOD=kubernetes',
  ]);
  expect(problemsOf(base({ VAULT_AUTH_METHOD: 'approle', VAULT_TOKEN: 't' }))).toEqual([
    'VAULT_ROLE_ID and VAULT_SECRET_ID are required when VAULT_AUTH_METHOD=approle',
  ]);
  expect(problemsOf(base({ VAULT_AUTH_METHOD: 'ldap', VAULT_TOKEN: 't' }))).toEqual([
    expect.stringContaining('VAULT_AUTH_METHOD'),
  ]);
});

it('keeps the path of VAULT_TOKEN_FILE so a rotated token can be read again', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cbk-cfg-'));
  const file = join(dir, 'token');
  writeFileSync(file, 'hvs.from-the-file\n');
  expect(loadConfig(base({ VAULT_TOKEN_FILE: file })).secretStore).toMatchObject({
    token: 'hvs.from-the-file',
    tokenFile: file,
  });
});
