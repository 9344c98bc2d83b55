import { InitialSchema1795465202674 } from './1795465202674-InitialSchema';
import { SetupRunInputs1796083200000 } from './1796083200000-SetupRunInputs';
import { PendingClaims1796168604933 } from './1796168604933-PendingClaims';
import { OAuthClients1796250000000 } from './1796250000000-OAuthClients';
import { ExternalIdsAndAws1796256000000 } from './1796256000000-ExternalIdsAndAws';
import { WebhookEvents1796342400000 } from './1796342400000-WebhookEvents';
import { SecretExpiringEvent1796428800000 } from './1796428800000-SecretExpiringEvent';
import { AuditPartialOutcome1796432400000 } from './1796432400000-AuditPartialOutcome';

/** Every migration, oldest first. A new one is generated with `npm run migration:generate` and added here. */
export const MIGRATIONS = [
  InitialSchema1795465202674,
  SetupRunInputs1796083200000,
  PendingClaims1796168604933,
  OAuthClients1796250000000,
  ExternalIdsAndAws1796256000000,
  WebhookEvents1796342400000,
  SecretExpiringEvent1796428800000,
  AuditPartialOutcome1796432400000,
];
