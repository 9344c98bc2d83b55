import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { type ServerResponse } from 'node:http';
import { type FakeRequest, startFakeServer } from '../tls/emulator-server';

/**
 * AWS STS as the broker uses it, on the documented wire format of the Query API
 * (https://docs.aws.amazon.com/STS/latest/APIReference/): a form-encoded POST to `/`
 * (`Action=AssumeRole&Version=2011-06-15&RoleArn=…&RoleSessionName=…&ExternalId=…&DurationSeconds=…`,
 * or `Action=GetCallerIdentity`), answered in XML in the `https://sts.amazonaws.com/doc/2011-06-15/`
 * namespace; errors as `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`
 * with STS's statuses (403 AccessDenied, 400 ValidationError, 400 Throttling, 500 InternalFailure,
 * 503 ServiceUnavailable). Every request's Signature Version 4 `Authorization` is verified
 * (canonical request, string to sign, the derived signing key of the caller's known secret):
 * an unknown key is 403 InvalidClientTokenId, a wrong signature 403 SignatureDoesNotMatch.
 *
 * Roles trust one principal, with an external id the trust policy demands or `null` (not
 * enforced: the confused deputy); `setTrust`/`denyAll` change it later. `throttleNext`,
 * `failNext` inject faults; `calls` records every request; `issuedSecrets()` lists every secret
 * access key and session token handed out.
 */

const NS = 'https://sts.amazonaws.com/doc/2011-06-15/';

export interface FakeRole {
  arn: string;
  /** The one principal its trust policy allows. */
  trustedPrincipal: string;
  /** The sts:ExternalId its trust policy demands; null = no condition (not enforced). */
  externalId?: string | null;
  /** MaxSessionDuration in seconds (3600 by default, as IAM's). */
  maxSessionDuration?: number;
}

export interface FakeStsCall {
  action: string;
  params: Record<string, string>;
  /** The access key id of the signer. */
  accessKeyId?: string;
  status: number;
  /** The error code answered, if any. */
  code?: string;
}

export interface FakeStsIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  principalArn: string;
  account: string;
}

export interface FakeSts {
  url: string;
  region: string;
  /** The broker's own identity: the key the emulator knows and the principal it stands for. */
  broker: FakeStsIdentity;
  addRole(role: FakeRole): void;
  setTrust(arn: string, trust: { trustedPrincipal?: string; externalId?: string | null }): void;
  /** The role's trust policy allows nobody any more. */
  denyAll(arn: string): void;
  /** Answer the next n calls 400 Throttling. */
  throttleNext(n?: number): void;
  /** Answer the next n calls with a 5xx. */
  failNext(n?: number, status?: 500 | 503): void;
  calls: FakeStsCall[];
  assumeRoleCalls(arn?: string): FakeStsCall[];
  /** Every SecretAccessKey and SessionToken issued. */
  issuedSecrets(): string[];
  /** The broker's environment for this emulator. */
  env(options?: { principalArn?: boolean }): Record<string, string>;
  close(): Promise<void>;
}

const xmlEscape = (v: string) =>
  v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const requestId = () => {
  const h = randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

const upperAlnum = (n: number) => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  return [...randomBytes(n)].map((b) => alphabet[b % alphabet.length]).join('');
};

/** RFC 3986 encoding as SigV4 wants it (encodeURIComponent leaves !'()* alone). */
const uriEncode = (v: string) =>
  encodeURIComponent(v).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );

const sha256 = (v: string) => createHash('sha256').update(v, 'utf8').digest('hex');
const hmac = (key: Buffer | string, v: string) =>
  createHmac('sha256', key).update(v, 'utf8').digest();

/** The SigV4 signature of a request, from its parts, as AWS computes it. */
export function sigV4Signature(input: {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  signedHeaders: string[];
  payloadHash: string;
  amzDate: string;
  scope: { date: string; region: string; service: string };
  secretAccessKey: string;
}): string {
  const canonicalUri =
    input.path
      .split('/')
      .map((s) => uriEncode(decodeURIComponent(s)))
      .join('/') || '/';
  const canonicalQuery = [...input.query.entries()]
    .map(([k, v]) => [uriEncode(k), uriEncode(v)])
    .sort(([a, av], [b, bv]) => (a === b ? (av < bv ? -1 : 1) : a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalHeaders = input.signedHeaders
    .map((name) => {
      const raw = input.headers[name];
      const value = (Array.isArray(raw) ? raw.join(',') : (raw ?? '')).trim().replace(/\s+/g, ' ');
      return `${name}:${value}\n`;
    })
    .join('');
  const canonicalRequest = [
    input.method,
    canonicalUri,
    canonicalQuery,
    canonicalHeaders,
    input.signedHeaders.join(';'),
    input.payloadHash,
  ].join('\n');
  const { date, region, service } = input.scope;
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    input.amzDate,
    `${date}/${region}/${service}/aws4_request`,
    sha256(canonicalRequest),
  ].join('\n');
  const kDate = hmac(`AWS4${input.secretAccessKey}`, date);
  const kRegion = hmac(kDate, region);
  const kService = hmac(kRegion, service);
  const kSigning = hmac(kService, 'aws4_request');
  return createHmac('sha256', kSigning).update(stringToSign, 'utf8').digest('hex');
}

const AUTH =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

export async function startFakeSts(
  options: { region?: string; port?: number; account?: string } = {},
): Promise<FakeSts> {
  const region = options.region ?? 'us-east-1';
  const account = options.account ?? '111111111111';
  const broker: FakeStsIdentity = {
    accessKeyId: `AKIA${upperAlnum(16)}`,
    secretAccessKey: randomBytes(30).toString('base64'),
    principalArn: `arn:aws:iam::${account}:role/credential-broker`,
    account,
  };
  const identities = new Map([[broker.accessKeyId, broker]]);
  const roles = new Map<string, Required<FakeRole> & { denyAll: boolean }>();
  const calls: FakeStsCall[] = [];
  const issued: string[] = [];
  const faults = { throttle: 0, fail: 0, failStatus: 503 as 500 | 503 };

  function answer(res: ServerResponse, call: FakeStsCall, status: number, body: string): void {
    call.status = status;
    res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId() });
    res.end(body);
  }

  function error(
    res: ServerResponse,
    call: FakeStsCall,
    status: number,
    code: string,
    message: string,
  ): void {
    call.code = code;
    const type = status >= 500 ? 'Receiver' : 'Sender';
    answer(
      res,
      call,
      status,
      `<ErrorResponse xmlns="${NS}"><Error><Type>${type}</Type><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>${requestId()}</RequestId></ErrorResponse>`,
    );
  }

  /** The signer, or undefined after answering the signature error. */
  function verify(
    req: FakeRequest,
    res: ServerResponse,
    call: FakeStsCall,
  ): FakeStsIdentity | undefined {
    const m = AUTH.exec(String(req.headers.authorization ?? ''));
    const amzDate = String(req.headers['x-amz-date'] ?? '');
    if (!m || !/^\d{8}T\d{6}Z$/.test(amzDate)) {
      error(
        res,
        call,
        403,
        'MissingAuthenticationToken',
        'Request is missing Authentication Token',
      );
      return undefined;
    }
    const [, keyId = '', date = '', scopeRegion = '', service = '', signed = '', signature = ''] =
      m;
    call.accessKeyId = keyId;
    const identity = identities.get(keyId);
    if (!identity) {
      error(res, call, 403, 'InvalidClientTokenId', 'The security token included in the request is invalid.'); // prettier-ignore
      return undefined;
    }
    const signedHeaders = signed.split(';');
    const bodyHash = sha256(req.body);
    const declared = req.headers['x-amz-content-sha256'];
    if (
      !signedHeaders.includes('host') ||
      service !== 'sts' ||
      !amzDate.startsWith(date) ||
      (typeof declared === 'string' && declared !== bodyHash)
    ) {
      error(res, call, 403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.'); // prettier-ignore
      return undefined;
    }
    const expected = sigV4Signature({
      method: req.method,
      path: req.url.pathname,
      query: req.url.searchParams,
      headers: req.headers,
      signedHeaders,
      payloadHash: bodyHash,
      amzDate,
      scope: { date, region: scopeRegion, service },
      secretAccessKey: identity.secretAccessKey,
    });
    if (!timingSafeEqual(Buffer.from(expected), Buffer.from(signature))) {
      error(res, call, 403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.'); // prettier-ignore
      return undefined;
    }
    return identity;
  }

  function assumeRole(res: ServerResponse, call: FakeStsCall, caller: FakeStsIdentity): void {
    const p = call.params;
    if (!p.RoleArn || !p.RoleSessionName) {
      error(res, call, 400, 'ValidationError', `1 validation error detected: Value null at '${p.RoleArn ? 'roleSessionName' : 'roleArn'}' failed to satisfy constraint: Member must not be null`); // prettier-ignore
      return;
    }
    if (!/^[\w+=,.@-]{2,64}$/.test(p.RoleSessionName)) {
      error(res, call, 400, 'ValidationError', "1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"); // prettier-ignore
      return;
    }
    const duration = p.DurationSeconds === undefined ? 3600 : Number(p.DurationSeconds);
    if (!Number.isInteger(duration) || duration < 900 || duration > 43200) {
      error(res, call, 400, 'ValidationError', `1 validation error detected: Value '${p.DurationSeconds}' at 'durationSeconds' failed to satisfy constraint: Member must have value ${duration < 900 ? 'greater than or equal to 900' : 'less than or equal to 43200'}`); // prettier-ignore
      return;
    }
    const role = roles.get(p.RoleArn);
    const trusted =
      role !== undefined &&
      !role.denyAll &&
      role.trustedPrincipal === caller.principalArn &&
      (role.externalId === null || role.externalId === p.ExternalId);
    if (!role || !trusted) {
      error(res, call, 403, 'AccessDenied', `User: ${caller.principalArn} is not authorized to perform: sts:AssumeRole on resource: ${p.RoleArn}`); // prettier-ignore
      return;
    }
    if (duration > role.maxSessionDuration) {
      error(res, call, 400, 'ValidationError', 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.'); // prettier-ignore
      return;
    }
    const accessKeyId = `ASIA${upperAlnum(16)}`;
    const secretAccessKey = randomBytes(30).toString('base64');
    const sessionToken = `FwoGZXIvYXdzE${randomBytes(96).toString('base64')}`;
    issued.push(secretAccessKey, sessionToken);
    // STS writes whole seconds.
    const expiration = new Date(Math.floor(Date.now() / 1000) * 1000 + duration * 1000)
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
    const [, roleAccount = '', roleName = ''] = /^arn:[^:]+:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(role.arn) ?? []; // prettier-ignore
    const roleId = `AROA${upperAlnum(17)}`;
    answer(
      res,
      call,
      200,
      `<AssumeRoleResponse xmlns="${NS}">
  <AssumeRoleResult>
    <SourceIdentity></SourceIdentity>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::${roleAccount}:assumed-role/${xmlEscape(roleName)}/${xmlEscape(p.RoleSessionName)}</Arn>
      <AssumedRoleId>${roleId}:${xmlEscape(p.RoleSessionName)}</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>${accessKeyId}</AccessKeyId>
      <SecretAccessKey>${xmlEscape(secretAccessKey)}</SecretAccessKey>
      <SessionToken>${xmlEscape(sessionToken)}</SessionToken>
      <Expiration>${expiration}</Expiration>
    </Credentials>
    <PackedPolicySize>0</PackedPolicySize>
  </AssumeRoleResult>
  <ResponseMetadata>
    <RequestId>${requestId()}</RequestId>
  </ResponseMetadata>
</AssumeRoleResponse>`,
    );
  }

  function callerIdentity(res: ServerResponse, call: FakeStsCall, caller: FakeStsIdentity): void {
    answer(
      res,
      call,
      200,
      `<GetCallerIdentityResponse xmlns="${NS}">
  <GetCallerIdentityResult>
    <Arn>${xmlEscape(caller.principalArn)}</Arn>
    <UserId>AROA${upperAlnum(17)}</UserId>
    <Account>${caller.account}</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata>
    <RequestId>${requestId()}</RequestId>
  </ResponseMetadata>
</GetCallerIdentityResponse>`,
    );
  }

  const server = await startFakeServer(
    (req, res) => {
      const call: FakeStsCall = { action: req.params.Action ?? '', params: req.params, status: 0 };
      calls.push(call);
      if (req.method !== 'POST' || req.url.pathname !== '/') {
        error(res, call, 404, 'NotFound', 'STS answers POST / only');
        return;
      }
      const caller = verify(req, res, call);
      if (!caller) return;
      if (faults.throttle > 0) {
        faults.throttle--;
        error(res, call, 400, 'Throttling', 'Rate exceeded');
        return;
      }
      if (faults.fail > 0) {
        faults.fail--;
        if (faults.failStatus === 500)
          error(res, call, 500, 'InternalFailure', 'An internal error occurred.'); // prettier-ignore
        else error(res, call, 503, 'ServiceUnavailable', 'Service is unable to handle request.');
        return;
      }
      if (req.params.Version !== '2011-06-15') {
        error(res, call, 400, 'InvalidAction', 'Could not find operation for this version');
        return;
      }
      if (call.action === 'AssumeRole') return assumeRole(res, call, caller);
      if (call.action === 'GetCallerIdentity') return callerIdentity(res, call, caller);
      error(res, call, 400, 'InvalidAction', `Could not find operation ${call.action} for version 2011-06-15`); // prettier-ignore
    },
    undefined,
    options.port,
  );

  return {
    url: server.url,
    region,
    broker,
    calls,
    addRole: (role) =>
      void roles.set(role.arn, {
        arn: role.arn,
        trustedPrincipal: role.trustedPrincipal,
        externalId: role.externalId === undefined ? null : role.externalId,
        maxSessionDuration: role.maxSessionDuration ?? 3600,
        denyAll: false,
      }),
    setTrust: (arn, trust) => {
      const role = roles.get(arn);
      if (!role) throw new Error(`no role ${arn}`);
      if (trust.trustedPrincipal !== undefined) role.trustedPrincipal = trust.trustedPrincipal;
      if (trust.externalId !== undefined) role.externalId = trust.externalId;
      role.denyAll = false;
    },
    denyAll: (arn) => {
      const role = roles.get(arn);
      if (!role) throw new Error(`no role ${arn}`);
      role.denyAll = true;
    },
    throttleNext: (n = 1) => void (faults.throttle = n),
    failNext: (n = 1, status = 503) => {
      faults.fail = n;
      faults.failStatus = status;
    },
    assumeRoleCalls: (arn) =>
      calls.filter(
        (c) => c.action === 'AssumeRole' && (arn === undefined || c.params.RoleArn === arn),
      ),
    issuedSecrets: () => [...issued],
    env: ({ principalArn = false } = {}) => ({
      AWS_STS_ENDPOINT: server.url,
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: broker.accessKeyId,
      AWS_SECRET_ACCESS_KEY: broker.secretAccessKey,
      ...(principalArn ? { AWS_BROKER_PRINCIPAL_ARN: broker.principalArn } : {}),
    }),
    close: () => server.close(),
  };
}
