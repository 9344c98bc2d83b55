import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PUBLISHED_SECRET_SHA256, sha256Hex } from '../../../src/config/published-secrets';

const ROOT = join(__dirname, '../../..');
const SECRET_NAME = /(SECRET|TOKEN|PASSWORD|PASSWORD_HASH|_KEY|_HASH)$/;

/**
 * Every secret-looking value a file publishes: values of secret-named variables (literal or a
 * `${NAME:-default}` default) and passwords inside URLs. `${NAME:?...}` and `${NAME}` are no value.
 */
function secretValues(text: string): string[] {
  const found: string[] = [];
  for (const line of text.split('\n')) {
    if (/^\s*#/.test(line)) continue;
    const assignment = /^\s*([A-Z0-9_]+)\s*[:=]\s*(.*?)\s*$/.exec(line);
    if (assignment) {
      const [, name = '', rawValue = ''] = assignment;
      if (SECRET_NAME.test(name) && !name.endsWith('_FILE')) {
        const value = rawValue.replace(/\s+#.*$/, '').replace(/^['"]|['"]$/g, '');
        const withDefault = /^\$\{[A-Z0-9_]+:?-(.*)\}$/.exec(value);
        const literal = withDefault ? withDefault[1] : /\$\{/.test(value) ? '' : value;
        if (literal) found.push(literal);
      }
    }
    for (const url of line.matchAll(/[a-z]+:\/\/[^:/\s]+:([^@\s$]+)@/g)) {
      if (url[1]) found.push(url[1]);
    }
  }
  return found;
}

describe('published development secrets', () => {
  it.each(['docker-compose.yml', '.env.example'])(
    'lists every secret-looking value of %s, so production refuses it',
    (file) => {
      const values = secretValues(readFileSync(join(ROOT, file), 'utf8'));
      const unlisted = values.filter((v) => !PUBLISHED_SECRET_SHA256.has(sha256Hex(v)));
      expect(unlisted).toEqual([]);
    },
  );

  it('finds the values it looks for', () => {
    expect(
      secretValues(
        [
          'AUTH_JWT_SECRET: ${AUTH_JWT_SECRET:-dev-default}',
          'VAULT_TOKEN=root',
          "ADMIN_PASSWORD_HASH='$argon2id$v=19$x'",
          'DATABASE_URL: postgres://broker:broker@postgres/broker',
          'AUTH_JWT_SECRET: ${AUTH_JWT_SECRET:?set it}',
          'VAULT_ROLE_ID_FILE: /run/secrets/role_id',
          '# LOCAL_SECRET_KEY=commented',
        ].join('\n'),
      ),
    ).toEqual(['dev-default', 'root', '$argon2id$v=19$x', 'broker']);
  });

  it('does not ship an AUTH_JWT_SECRET in the compose file: it is generated (or yours, from .env)', () => {
    const compose = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
    expect(compose).toMatch(/AUTH_JWT_SECRET_FILE: \/run\/generated-secrets\/auth_jwt_secret/);
    // The only other mention passes .env's value to secrets-init, with no default of its own.
    const values = [...compose.matchAll(/AUTH_JWT_SECRET: (.*)/g)].map((m) => m[1].trim());
    expect(values).toEqual(['${AUTH_JWT_SECRET:-}']);
    const init = readFileSync(join(ROOT, 'docker/secrets-init.sh'), 'utf8');
    expect(init).toContain('/dev/urandom');
  });
});
