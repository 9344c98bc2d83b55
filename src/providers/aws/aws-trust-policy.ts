/**
 * The trust policy a user attaches to their role (SPEC §13): the broker's principal may call
 * sts:AssumeRole, only when it names the user's external id. The external id is what stops the
 * confused deputy: without it, anyone who learns the role's ARN could have the broker assume it.
 */
export interface TrustPolicy {
  Version: '2012-10-17';
  Statement: {
    Sid: string;
    Effect: 'Allow';
    Principal: { AWS: string };
    Action: 'sts:AssumeRole';
    Condition: { StringEquals: { 'sts:ExternalId': string } };
  }[];
}

export function trustPolicy(brokerPrincipalArn: string, externalId: string): TrustPolicy {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'CredentialBrokerAssumeRole',
        Effect: 'Allow',
        Principal: { AWS: brokerPrincipalArn },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'sts:ExternalId': externalId } },
      },
    ],
  };
}
