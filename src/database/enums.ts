/** The providers the broker knows. Every switch over it ends in an exhaustiveness check. */
export const PROVIDERS = ['gcp', 'azure', 'tailscale', 'ovh', 'aws'] as const;
export type Provider = (typeof PROVIDERS)[number];

export const CONNECTION_STATUSES = [
  'active',
  'refresh_failing',
  'needs_reauth',
  'revoked',
] as const;
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];

export const SETUP_STATUSES = [
  'pending',
  'running',
  'needs_selection',
  'succeeded',
  'partial',
  'failed',
  'not_applicable',
] as const;
export type SetupStatus = (typeof SETUP_STATUSES)[number];

export const SETUP_STEP_STATUSES = [
  'pending',
  'running',
  'succeeded',
  'skipped',
  'partial',
  'failed',
] as const;
export type SetupStepStatus = (typeof SETUP_STEP_STATUSES)[number];

export const API_KEY_SCOPES = [
  'connections:read',
  'connections:write',
  'tokens:read',
  'admin',
] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export const ACTOR_TYPES = ['user', 'api_key', 'admin', 'system'] as const;
export type ActorType = (typeof ACTOR_TYPES)[number];

/** `partial`: some of it was done (a disconnect that removed some of what setup made upstream). */
export const AUDIT_OUTCOMES = ['success', 'partial', 'failure'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** SQL `IN (...)` list for a CHECK constraint over one of the enums above. */
/** The webhook events (SPEC §14). */
export const WEBHOOK_EVENT_TYPES = [
  'connection.connected',
  'connection.reconnected',
  'connection.needs_reauth',
  'connection.refresh_failing',
  'connection.recovered',
  'connection.revoked',
  'connection.secret_expiring',
  'setup.finished',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export function sqlIn(values: readonly string[]): string {
  return values.map((v) => `'${v}'`).join(', ');
}
