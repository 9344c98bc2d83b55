import { ApiKeyEntity } from './api-key.entity';
import { AuditEventEntity } from './audit-event.entity';
import { ConnectionEntity } from './connection.entity';
import { ExternalIdEntity } from './external-id.entity';
import { LocalSecretEntity } from './local-secret.entity';
import { OAuthClientEntity } from './oauth-client.entity';
import { OAuthStateEntity } from './oauth-state.entity';
import { PendingClaimEntity } from './pending-claim.entity';
import { SetupRunEntity } from './setup-run.entity';
import { WebhookEventEntity } from './webhook-event.entity';

export {
  ApiKeyEntity,
  AuditEventEntity,
  ConnectionEntity,
  ExternalIdEntity,
  LocalSecretEntity,
  OAuthClientEntity,
  OAuthStateEntity,
  PendingClaimEntity,
  SetupRunEntity,
  WebhookEventEntity,
};
export type { SetupStepState } from './setup-run.entity';
export type { PendingClaimOutcome } from './pending-claim.entity';

export const ENTITIES = [
  ConnectionEntity,
  ExternalIdEntity,
  OAuthStateEntity,
  PendingClaimEntity,
  SetupRunEntity,
  ApiKeyEntity,
  AuditEventEntity,
  LocalSecretEntity,
  OAuthClientEntity,
  WebhookEventEntity,
];
