import { ApiKeyEntity } from './api-key.entity';
import { AuditEventEntity } from './audit-event.entity';
import { ConnectionEntity } from './connection.entity';
import { LocalSecretEntity } from './local-secret.entity';
import { OAuthStateEntity } from './oauth-state.entity';
import { SetupRunEntity } from './setup-run.entity';

export {
  ApiKeyEntity,
  AuditEventEntity,
  ConnectionEntity,
  LocalSecretEntity,
  OAuthStateEntity,
  SetupRunEntity,
};
export type { SetupStepState } from './setup-run.entity';

export const ENTITIES = [
  ConnectionEntity,
  OAuthStateEntity,
  SetupRunEntity,
  ApiKeyEntity,
  AuditEventEntity,
  LocalSecretEntity,
];
