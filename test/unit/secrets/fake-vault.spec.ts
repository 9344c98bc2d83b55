import { startFakeVault, type FakeVault } from '../../fakes/vault/fake-vault';
import { sleep } from './vault-support';

/** The fake's wire format, checked raw, so adapter tests rest on Vault's real shapes. */

let fake: FakeVault;

beforeAll(async () => {
  fake = await startFakeVault();
});

afterAll(async () => {
  await fake.close();
});

async function call(method: string, path: string, body?: unknown, token = fake.rootToken) {
  const res = await fetch(`${fake.url}/v1/${path}`, {
    method,
    headers: { 'X-Vault-Token': token, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

it('answers KV v2 reads, writes, cas mismatches and missing paths like Vault', async () => {
  expect(await call('GET', 'secret/data/x/a')).toEqual({ status: 404, body: { errors: [] } });
  const written = await call('POST', 'secret/data/x/a', { data: { k: 'v' }, options: { cas: 0 } });
  expect(written).toMatchObject({ status: 200, body: { data: { version: 1, destroyed: false } } });
  expect(await call('PUT', 'secret/data/x/a', { data: { k: 'w' }, options: { cas: 0 } })).toEqual({
    status: 400,
    body: { errors: ['check-and-set parameter did not match the current version'] },
  });
  expect(await call('GET', 'secret/data/x/a?version=1')).toMatchObject({
    status: 200,
    body: { data: { data: { k: 'v' }, metadata: { version: 1, deletion_time: '' } } },
  });
});

// Node's HTTP parser refuses the LIST verb itself (400 before any handler runs), so the fake, like
// the adapter (noCustomHTTPVerbs), speaks LIST as `GET ?list=1`, which Vault also accepts.
it('lists with GET ?list=1, and deletes metadata', async () => {
  await call('POST', 'secret/data/y/one', { data: { a: '1' } });
  await call('POST', 'secret/data/y/dir/two', { data: { a: '1' } });
  const keys = { status: 200, body: expect.objectContaining({ data: { keys: ['dir/', 'one'] } }) };
  expect(await call('GET', 'secret/metadata/y?list=true')).toEqual(keys);
  expect(await call('GET', 'secret/metadata/y/?list=1')).toEqual(keys);
  expect(await call('DELETE', 'secret/metadata/y/one')).toEqual({ status: 204, body: undefined });
  expect(await call('GET', 'secret/data/y/one')).toMatchObject({ status: 404 });
});

it('checks the token on every call and lets short TTLs really expire', async () => {
  expect(await call('GET', 'secret/data/x/a', undefined, 'hvs.nope')).toEqual({
    status: 403,
    body: { errors: ['permission denied'] },
  });
  const token = fake.createToken({ ttl: 1 });
  expect((await call('GET', 'auth/token/lookup-self', undefined, token.id)).status).toBe(200);
  await sleep(1_100);
  expect((await call('GET', 'auth/token/lookup-self', undefined, token.id)).status).toBe(403);
});

it('reports sealing in sys/health and refuses other calls while sealed', async () => {
  fake.seal();
  expect(await call('GET', 'sys/health')).toMatchObject({ status: 503, body: { sealed: true } });
  expect(await call('GET', 'secret/data/x/a')).toEqual({
    status: 503,
    body: { errors: ['Vault is sealed'] },
  });
  fake.unseal();
  expect(await call('GET', 'sys/health')).toMatchObject({ status: 200, body: { sealed: false } });
});
