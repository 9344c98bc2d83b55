import {
  AssumeRoleCommand,
  GetCallerIdentityCommand,
  STSClient,
  type STSServiceException,
} from '@aws-sdk/client-sts';
import { type FakeSts, startFakeSts } from '../../fakes/aws/fake-sts';

const ROLE = 'arn:aws:iam::222222222222:role/path/deploy';
const OPEN = 'arn:aws:iam::222222222222:role/open';

/** The STS emulator, driven by the real @aws-sdk/client-sts: its answers parse, its checks bite. */
describe('fake STS', () => {
  let sts: FakeSts;
  const client = (secretAccessKey = sts.broker.secretAccessKey) =>
    new STSClient({
      region: sts.region,
      endpoint: sts.url,
      maxAttempts: 1,
      credentials: { accessKeyId: sts.broker.accessKeyId, secretAccessKey },
    });
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error('expected a failure');
      },
      (err: STSServiceException) => ({
        name: err.name,
        status: err.$metadata?.httpStatusCode,
        message: err.message,
      }),
    );

  beforeAll(async () => {
    sts = await startFakeSts();
    sts.addRole({ arn: ROLE, trustedPrincipal: sts.broker.principalArn, externalId: 'cbk-x', maxSessionDuration: 7200 }); // prettier-ignore
    sts.addRole({ arn: OPEN, trustedPrincipal: sts.broker.principalArn, externalId: null });
  });
  afterAll(() => sts.close());

  it('issues credentials the SDK parses, for the right external id', async () => {
    const out = await client().send(
      new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 'cbk-s', ExternalId: 'cbk-x', DurationSeconds: 7200 }), // prettier-ignore
    );
    const c = out.Credentials;
    expect(c?.AccessKeyId).toMatch(/^ASIA[A-Z0-9]{16}$/);
    expect(sts.issuedSecrets()).toEqual(
      expect.arrayContaining([c?.SecretAccessKey, c?.SessionToken]),
    );
    expect(c?.Expiration).toBeInstanceOf(Date);
    expect((c?.Expiration?.getTime() ?? 0) - Date.now()).toBeGreaterThan(7100_000);
    expect(out.AssumedRoleUser?.Arn).toBe('arn:aws:sts::222222222222:assumed-role/deploy/cbk-s');
    const call = sts.assumeRoleCalls(ROLE).at(-1);
    expect(call?.params).toMatchObject({ Action: 'AssumeRole', Version: '2011-06-15', ExternalId: 'cbk-x', DurationSeconds: '7200' }); // prettier-ignore
  });

  it('answers GetCallerIdentity with the signer', async () => {
    const out = await client().send(new GetCallerIdentityCommand({}));
    expect(out.Arn).toBe(sts.broker.principalArn);
    expect(out.Account).toBe(sts.broker.account);
  });

  it('denies a wrong or missing external id, unless the role enforces none', async () => {
    const assume = (RoleArn: string, ExternalId?: string) =>
      client().send(new AssumeRoleCommand({ RoleArn, RoleSessionName: 'cbk-s', ExternalId }));
    expect(await failure(assume(ROLE, 'cbk-other'))).toMatchObject({ name: 'AccessDenied', status: 403 }); // prettier-ignore
    expect(await failure(assume(ROLE))).toMatchObject({ name: 'AccessDenied', status: 403 });
    await expect(assume(OPEN)).resolves.toBeDefined();
    sts.denyAll(OPEN);
    expect(await failure(assume(OPEN))).toMatchObject({ name: 'AccessDenied' });
    sts.setTrust(OPEN, { externalId: 'cbk-y' });
    await expect(assume(OPEN, 'cbk-y')).resolves.toBeDefined();
  });

  it("refuses a duration above the role's maximum as STS does", async () => {
    const err = await failure(
      client().send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 'cbk-s', ExternalId: 'cbk-x', DurationSeconds: 7201 })), // prettier-ignore
    );
    expect(err).toEqual({
      name: 'ValidationError',
      status: 400,
      message: 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
    });
  });

  it('checks the SigV4 signature: a wrong secret is SignatureDoesNotMatch', async () => {
    const err = await failure(client('not-the-secret').send(new GetCallerIdentityCommand({})));
    expect(err).toMatchObject({ name: 'SignatureDoesNotMatch', status: 403 });
    const unknown = new STSClient({
      region: sts.region,
      endpoint: sts.url,
      maxAttempts: 1,
      credentials: { accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'x' },
    });
    expect(await failure(unknown.send(new GetCallerIdentityCommand({})))).toMatchObject({ name: 'InvalidClientTokenId', status: 403 }); // prettier-ignore
  });

  it('injects throttling and 5xx and records every call', async () => {
    const before = sts.calls.length;
    sts.throttleNext(1);
    expect(await failure(client().send(new GetCallerIdentityCommand({})))).toMatchObject({ name: 'Throttling', status: 400 }); // prettier-ignore
    sts.failNext(1, 500);
    expect(await failure(client().send(new GetCallerIdentityCommand({})))).toMatchObject({ name: 'InternalFailure', status: 500 }); // prettier-ignore
    sts.failNext(1, 503);
    expect(await failure(client().send(new GetCallerIdentityCommand({})))).toMatchObject({ status: 503 }); // prettier-ignore
    await client().send(new GetCallerIdentityCommand({}));
    expect(sts.calls.slice(before).map((c) => [c.status, c.code])).toEqual([
      [400, 'Throttling'],
      [500, 'InternalFailure'],
      [503, 'ServiceUnavailable'],
      [200, undefined],
    ]);
  });
});
