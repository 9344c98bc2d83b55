import { type ErrorCode } from '../common/error-codes';
import { type LoginProviderKind } from '../config/config';
import { type ConnectionView } from '../connections/connection.presenter';
import { type SetupView } from '../connections/setup.schemas';

type Provider = ConnectionView['provider'];
type ConnectionStatus = ConnectionView['status'];
type SetupStatus = SetupView['status'];
type SetupStepStatus = SetupView['steps'][number]['status'];

/** What the page says, in words, for every code it may show. Never a secret, never a value sent. */

export const PROVIDER_NAMES: Record<Provider, string> = {
  gcp: 'Google Cloud',
  azure: 'Azure',
  tailscale: 'Tailscale',
  ovh: 'OVHcloud',
  aws: 'AWS',
};

export const LOGIN_PROVIDER_LABELS: Record<LoginProviderKind, string> = {
  github: 'Sign in with GitHub',
  entra: 'Sign in with Microsoft',
  oidc: 'Sign in with single sign-on',
};

export const CONNECTION_STATUS_WORDS: Record<ConnectionStatus, string> = {
  active: 'Active',
  refresh_failing: 'Refresh failing (retrying)',
  needs_reauth: 'Needs to be connected again',
  revoked: 'Revoked',
};

export const SETUP_STATUS_WORDS: Record<SetupStatus, string> = {
  pending: 'Waiting to start',
  running: 'Running',
  needs_selection: 'Waiting for you to choose projects',
  succeeded: 'Succeeded',
  partial: 'Partly succeeded',
  failed: 'Failed',
  not_applicable: 'Nothing to set up',
};

/** Kept in step with the table in assets/connect.js, which updates the list while setup runs. */
export const SETUP_STEP_WORDS: Record<SetupStepStatus, string> = {
  pending: 'waiting',
  running: 'running',
  succeeded: 'done',
  skipped: 'skipped',
  partial: 'partly done',
  failed: 'failed',
};

/** A step name as a person reads it: `list_projects` → "List projects". */
export function stepLabel(name: string): string {
  const words = name.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The outcome of a form (Post/Redirect/Get: `/connect?notice=<word>`). */
export const NOTICES = {
  connected: 'The account is connected.',
  refreshed: 'The token was refreshed.',
  setup_retried: 'Setup is running again.',
  disconnected: 'The account is disconnected.',
  signed_out: 'You are signed out.',
} as const;
export type Notice = keyof typeof NOTICES;

export function isNotice(value: unknown): value is Notice {
  return typeof value === 'string' && Object.hasOwn(NOTICES, value);
}

/** Errors of the broker's own API, by code; anything else shows the error's detail. */
export const ERROR_MESSAGES: Partial<Record<ErrorCode, string>> = {
  validation_failed: 'Some fields are not valid: see the messages next to them.',
  unauthenticated: 'You are not signed in, or your session has ended. Sign in again.',
  forbidden: 'You may not do this.',
  csrf_rejected: 'The form did not come from this page. Reload the page and try again.',
  not_found: 'That connection does not exist (any more).',
  claim_not_found:
    'The connection could not be finished: the link was used already, has expired or was ' +
    'started by someone else. Connect the account again.',
  provider_disabled: 'This provider is not enabled on this broker.',
  login_disabled: 'Sign-in is not enabled on this broker.',
  needs_reauth:
    'The provider no longer accepts this connection: connect the account again to renew it.',
  rate_limited: 'Too many attempts in a short time. Wait a minute and try again.',
  provider_unavailable: 'The provider could not be reached. Try again in a moment.',
  secret_store_unavailable: 'The broker cannot reach its secret store. Try again in a moment.',
  service_unavailable: 'The broker is not ready. Try again in a moment.',
  database_unavailable: 'The broker cannot reach its database. Try again in a moment.',
  redis_unavailable: 'The broker cannot reach Redis. Try again in a moment.',
  payload_too_large: 'The form is too large.',
  azure_invalid_credentials:
    'Azure rejected the client id or the client secret. Check both and try again.',
  azure_invalid_tenant: 'Azure does not know this tenant. Check the tenant id or domain.',
  azure_no_enabled_subscription:
    'The service principal sees no enabled subscription. Give it a role on one and try again.',
  azure_subscription_not_found:
    'The service principal cannot see that subscription, or it is not enabled.',
  tailscale_invalid_credentials: 'Tailscale rejected the OAuth client id or secret.',
  tailscale_missing_scope:
    'The Tailscale OAuth client lacks a scope the broker needs (devices:core:read, policy_file, auth_keys).',
  aws_assume_role_denied:
    "AWS did not let the broker assume the role. Check that the role's trust policy is the one " +
    'shown here: it must allow the broker principal with your external id.',
  aws_external_id_not_enforced:
    "The role's trust policy lets the broker in without your external id, so anyone who knows " +
    'the role could use it through the broker. Add the sts:ExternalId condition shown here, then ' +
    'connect again. Nothing was stored.',
  aws_session_duration_too_long:
    "The session duration is longer than the role's maximum session duration. Ask for less, or " +
    'raise the maximum on the role.',
  internal_error:
    'Something went wrong on the broker. Try again; if it keeps failing, tell an operator.',
};

/** `?provider=gcp|ovh&status=error&code=…` of a provider callback (SPEC §5). */
export const CALLBACK_ERROR_MESSAGES: Record<string, string> = {
  access_denied: 'The consent was declined, so nothing was connected.',
  invalid_state: 'That consent link is not valid or was used already. Start again.',
  state_expired: 'The consent took too long. Start again.',
  exchange_failed: 'The provider did not complete the connection. Try again.',
  insufficient_scope:
    'Not every permission was granted. Start again and allow every permission asked for.',
  missing_refresh_token:
    'The provider granted no offline access. Remove the broker from your account’s connected apps and start again.',
  provider_disabled: 'This provider is not enabled on this broker.',
  internal_error: 'Something went wrong on the broker. Try again.',
};

/** `?login=error&code=…` of the sign-in callback (SPEC §9). */
export const LOGIN_ERROR_MESSAGES: Record<string, string> = {
  invalid_state: 'That sign-in link is not valid or was used already. Sign in again.',
  state_expired: 'The sign-in took too long. Sign in again.',
  access_denied: 'The sign-in was declined at the identity provider.',
  exchange_failed:
    'The identity provider did not complete the sign-in: most often a wrong client secret or a redirect URI other than PUBLIC_URL/auth/callback at the provider. Try again, or tell the operator.',
  provider_unavailable:
    'The identity provider could not be reached (or its issuer URL is wrong). Try again in a moment.',
  identity_failed: 'The identity provider did not say who you are. Try again.',
  login_not_allowed: 'This account is not allowed to use the broker. Ask an operator to add it.',
  login_disabled: 'Sign-in is not enabled on this broker.',
};

export const UNKNOWN_CODE_MESSAGE = 'Something went wrong. Try again.';
