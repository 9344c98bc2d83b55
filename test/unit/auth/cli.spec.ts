import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DataSource } from 'typeorm';
import { ApiKeysService, hashApiKey } from '../../../src/auth/api-keys.service';
import { type CliIo, EXIT, runCli } from '../../../src/cli';
import { ApiKeyEntity } from '../../../src/database/entities/api-key.entity';
import { type TestDataSource, openTestDataSource } from '../../support/postgres';

interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

describe('cli', () => {
  let db: TestDataSource;
  let ds: DataSource;
  let keys: ApiKeysService;

  beforeAll(async () => {
    db = await openTestDataSource();
    ds = db.ds;
    keys = new ApiKeysService(ds.getRepository(ApiKeyEntity));
  });
  afterAll(async () => {
    await db.close();
  });

  async function cli(
    argv: string[],
    env: Record<string, string | undefined> = { DATABASE_URL: db.url },
  ): Promise<Captured> {
    let stdout = '';
    let stderr = '';
    const io: CliIo = {
      stdout: (text) => {
        stdout += text;
      },
      stderr: (text) => {
        stderr += text;
      },
      env,
    };
    const code = await runCli(argv, io);
    return { code, stdout, stderr };
  }

  it('creates a key, printing it once on stdout and its details on stderr', async () => {
    const out = await cli([
      'api-key',
      'create',
      '--name',
      'billing',
      '--scopes',
      'tokens:read,connections:read',
    ]);
    expect(out.code).toBe(EXIT.ok);
    const key = out.stdout.trim();
    expect(key).toMatch(/^cbk_[A-Za-z0-9_-]{43}$/);
    expect(out.stdout).toBe(`${key}\n`);
    expect(out.stderr).not.toContain(key);
    expect(out.stderr).toContain(`prefix:  ${key.slice(0, 12)}`);
    expect(out.stderr).toContain('scopes:  connections:read,tokens:read');
    expect(out.stderr).toMatch(/shown only this once/);

    const row = await keys.authenticate(key);
    expect(row).toMatchObject({ name: 'billing', scopes: ['connections:read', 'tokens:read'] });
    expect(out.stderr).toContain(`id:      ${row?.id}`);
  });

  it('lists keys as a table, without keys or hashes', async () => {
    const created = await cli(['api-key', 'create', '--name', 'listed-key', '--scopes', 'admin']);
    const key = created.stdout.trim();
    const out = await cli(['api-key', 'list']);
    expect(out.code).toBe(EXIT.ok);
    const [header, ...rows] = out.stdout.trimEnd().split('\n');
    expect(header.split(/\s{2,}/)).toEqual([
      'ID',
      'NAME',
      'PREFIX',
      'SCOPES',
      'CREATED',
      'LAST USED',
      'REVOKED',
    ]);
    const line = rows.find((r) => r.includes('listed-key'));
    expect(line).toContain(key.slice(0, 12));
    expect(line).toContain('admin');
    expect(out.stdout).not.toContain(key);
    expect(out.stdout).not.toContain(hashApiKey(key));

    const json = await cli(['api-key', 'list', '--json']);
    const parsed = JSON.parse(json.stdout) as { name: string; prefix: string }[];
    expect(parsed.find((k) => k.name === 'listed-key')?.prefix).toBe(key.slice(0, 12));
    expect(json.stdout).not.toContain(hashApiKey(key));
  });

  it('revokes by prefix and by id', async () => {
    const a = (
      await cli(['api-key', 'create', '--name', 'rev-a', '--scopes', 'admin'])
    ).stdout.trim();
    const b = (
      await cli(['api-key', 'create', '--name', 'rev-b', '--scopes', 'admin'])
    ).stdout.trim();

    const byPrefix = await cli(['api-key', 'revoke', a.slice(0, 12)]);
    expect(byPrefix.code).toBe(EXIT.ok);
    expect(byPrefix.stdout).toContain(`revoked ${a.slice(0, 12)}`);
    expect(await keys.authenticate(a)).toBeNull();

    const id = (await keys.authenticate(b))?.id ?? 'missing';
    expect((await cli(['api-key', 'revoke', id])).code).toBe(EXIT.ok);
    expect(await keys.authenticate(b)).toBeNull();
    const again = await cli(['api-key', 'revoke', id]);
    expect(again.code).toBe(EXIT.ok);
    expect(again.stdout).toContain('already revoked');

    const listed = await cli(['api-key', 'list']);
    const line = listed.stdout.split('\n').find((r) => r.includes('rev-a')) ?? '';
    expect(line).toMatch(/\d{4}-\d{2}-\d{2}T[^ ]+Z$/); // the revoked column is filled
  });

  it('fails with 1 when nothing matches', async () => {
    const out = await cli(['api-key', 'revoke', 'cbk_nomatch0']);
    expect(out.code).toBe(EXIT.failure);
    expect(out.stderr).toContain('no API key has the id or prefix');
  });

  it('refuses an unknown scope with exit code 2, listing the valid ones', async () => {
    const before = (await keys.list()).length;
    const out = await cli([
      'api-key',
      'create',
      '--name',
      'x',
      '--scopes',
      'connections:read,root',
    ]);
    expect(out.code).toBe(EXIT.usage);
    expect(out.stderr).toContain('unknown scope "root"');
    expect(out.stderr).toContain('connections:read, connections:write, tokens:read, admin');
    expect(out.stdout).toBe('');
    expect((await keys.list()).length).toBe(before);
  });

  it('exits 2 on usage errors: unknown command, missing option, empty name', async () => {
    expect((await cli(['api-key', 'frobnicate'])).code).toBe(EXIT.usage);
    expect((await cli(['nothing'])).code).toBe(EXIT.usage);
    expect((await cli(['api-key', 'create', '--name', 'x'])).code).toBe(EXIT.usage);
    expect((await cli(['api-key', 'create', '--name', ' ', '--scopes', 'admin'])).code).toBe(
      EXIT.usage,
    );
    expect((await cli(['api-key', 'revoke'])).code).toBe(EXIT.usage);
  });

  it('exits 0 for help, without needing the database', async () => {
    const out = await cli(['api-key', '--help'], {});
    expect(out.code).toBe(EXIT.ok);
    expect(out.stdout).toContain('create');
    expect(out.stdout).toContain('revoke');
  });

  it('exits 78 without DATABASE_URL, naming the variable', async () => {
    const out = await cli(['api-key', 'list'], {});
    expect(out.code).toBe(EXIT.config);
    expect(out.stderr).toContain('DATABASE_URL is required');
  });

  it('reads DATABASE_URL_FILE', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cbk-cli-')), 'database-url');
    writeFileSync(file, `${db.url}\n`);
    expect((await cli(['api-key', 'list'], { DATABASE_URL_FILE: file })).code).toBe(EXIT.ok);
  });

  it('exits 1 when the database cannot be reached', async () => {
    const out = await cli(['api-key', 'list'], {
      DATABASE_URL: 'postgres://root@127.0.0.1:1/nothing',
    });
    expect(out.code).toBe(EXIT.failure);
    expect(out.stderr).toMatch(/^error: /);
  });
});
