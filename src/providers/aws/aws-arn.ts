import { createHash } from 'node:crypto';

/**
 * An IAM role ARN, `arn:<partition>:iam::<12-digit account>:role/<path/><name>`: partitions
 * `aws`, `aws-cn`, `aws-us-gov`, `aws-iso*`…; a path of printable ASCII segments; a name of up to
 * 64 of `[A-Za-z0-9+=,.@_-]` (IAM's own limits).
 */
const ROLE_ARN =
  /^arn:(aws(?:-[a-z]+)*):iam::(\d{12}):role\/((?:[\x21-\x2e\x30-\x7e]+\/)*)([\w+=,.@-]{1,64})$/;

export interface RoleArn {
  arn: string;
  partition: string;
  accountId: string;
  /** `/` or `/a/b/`. */
  path: string;
  name: string;
}

export function parseRoleArn(value: string): RoleArn | undefined {
  if (value.length > 2048) return undefined;
  const m = ROLE_ARN.exec(value);
  if (!m) return undefined;
  const [, partition = '', accountId = '', path = '', name = ''] = m;
  if (`/${path}`.length > 512) return undefined;
  return { arn: value, partition, accountId, path: `/${path}`, name };
}

export const ROLE_ARN_MESSAGE =
  'must be an IAM role ARN: arn:<partition>:iam::<12-digit account id>:role/<path/name>';

/**
 * The principal a trust policy names for the broker's own identity. GetCallerIdentity answers an
 * assumed role (IRSA, an instance role) with its session ARN, which a policy cannot name: the
 * role's ARN is `arn:<p>:iam::<account>:role/<name>` (a role path is not in the session ARN; a
 * role with one is set with AWS_BROKER_PRINCIPAL_ARN).
 */
export function trustablePrincipal(callerArn: string): string {
  const m = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(callerArn);
  return m ? `arn:${m[1]}:iam::${m[2]}:role/${m[3]}` : callerArn;
}

/**
 * `RoleSessionName` for a user: `cbk-` and a hash of the user id, so CloudTrail in the user's
 * account tells the broker's users apart without learning who they are.
 */
export function sessionNameFor(userId: string): string {
  return `cbk-${createHash('sha256').update(userId).digest('hex').slice(0, 32)}`;
}
