import { type LoginProviderKind, type OvhRegion } from '../config/config';
import { type ConnectionView } from '../connections/connection.presenter';
import { type SetupView } from '../connections/setup.schemas';
import { type Interpolation, type SafeHtml, html } from './html';
import {
  CONNECTION_STATUS_WORDS,
  LOGIN_PROVIDER_LABELS,
  PROVIDER_NAMES,
  SETUP_STATUS_WORDS,
  SETUP_STEP_WORDS,
  stepLabel,
} from './messages';

/** A form's state after a failed submission: what to put back and what to say next to fields. */
export interface FormState {
  /** Values to show again; never a secret (the caller leaves client_secret out). */
  values: Record<string, string>;
  /** Field name → message. */
  errors: Record<string, string>;
}

export interface ConnectionRow {
  connection: ConnectionView;
  /** Absent for providers without setup. */
  setup?: SetupView;
}

export interface ConnectPageModel {
  /** Null when nobody (valid) is signed in. */
  user: { label: string } | null;
  login: { enabled: boolean; providers: LoginProviderKind[] };
  connections: ConnectionRow[];
  enabled: {
    gcp: boolean;
    ovhRegions: OvhRegion[];
    azure: boolean;
    tailscale: boolean;
    aws: boolean;
  };
  /** The signed-in user's AWS external id and trust policy, when AWS is enabled. */
  aws?: AwsSection;
  /** A polite status message (the outcome of the last form). */
  notice?: string;
  /** An error in words, shown in a role="alert" region. */
  alert?: string;
  /** A one-time claim code from a provider callback that the page must post for the user. */
  claim?: { code: string; provider: string };
  forms?: { azure?: FormState; tailscale?: FormState; aws?: FormState };
}

export type AwsSection =
  { externalId: string; principalArn: string; trustPolicy: string } | { unavailable: string };

export const SETUP_POLL_STATUSES = new Set(['pending', 'running']);

/** What a button's accessible name says about a connection: "Google Cloud alice@example.com". */
export function connectionName(c: ConnectionView): string {
  return `${PROVIDER_NAMES[c.provider]} ${c.display_name ?? c.account_ref}`;
}

function formatTime(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

export function renderConnectPage(model: ConnectPageModel): SafeHtml {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>Connect your cloud accounts · credential broker</title>
        <link rel="stylesheet" href="/connect/assets/connect.css" />
        <link rel="icon" href="/connect/assets/favicon.svg" type="image/svg+xml" />
        <script src="/connect/assets/connect.js" defer></script>
      </head>
      <body>
        <header class="top">
          <h1>Connect your cloud accounts</h1>
          ${model.user && renderSignOut(model.user.label)}
        </header>
        <main>
          <div class="notice" role="status" aria-live="polite">${model.notice}</div>
          ${model.alert && html`<div class="alert" role="alert">${model.alert}</div>`}
          ${model.user ? renderSignedIn(model) : renderSignIn(model)}
        </main>
      </body>
    </html> `;
}

function renderSignOut(label: string): SafeHtml {
  return html`<form class="signout" method="post" action="/connect/logout">
    <span>Signed in as <strong>${label}</strong></span>
    <button type="submit">Sign out</button>
  </form>`;
}

function renderSignIn(model: ConnectPageModel): SafeHtml {
  if (!model.login.enabled) {
    return html`<section aria-labelledby="signin-title">
      <h2 id="signin-title">Sign-in is not configured</h2>
      <p>
        This page is for people who sign in to the broker, and this broker has no sign-in
        configured. An operator turns it on by setting
        <code>LOGIN_PROVIDERS</code> (<code>github</code>, <code>entra</code> or <code>oidc</code>)
        with the provider's client id and secret and an allow-list (<code>LOGIN_ALLOWED_USERS</code>
        or <code>LOGIN_ALLOWED_DOMAINS</code>).
      </p>
      <p>Programs can still use the API with a bearer token or an API key.</p>
    </section>`;
  }
  return html`<section aria-labelledby="signin-title">
    <h2 id="signin-title">Sign in</h2>
    <p>
      Sign in to see your connections and to connect Google Cloud, OVHcloud, Azure or Tailscale
      accounts. The broker keeps their secrets in its vault and hands your tools short-lived tokens.
    </p>
    <ul class="signin">
      ${model.login.providers.map(
        (kind) =>
          html`<li>
            <a
              class="button"
              href="${`/auth/login?provider=${encodeURIComponent(kind)}&redirect_to=${encodeURIComponent('/connect')}`}"
              >${LOGIN_PROVIDER_LABELS[kind]}</a
            >
          </li>`,
      )}
    </ul>
  </section>`;
}

function renderSignedIn(model: ConnectPageModel): SafeHtml {
  return html`${model.claim && renderClaim(model.claim)}
    <section aria-labelledby="connections-title">
      <h2 id="connections-title">Your connections</h2>
      ${
        model.connections.length === 0
          ? html`<p>No connections yet: connect an account below.</p>`
          : html`<ul class="connections">
              ${model.connections.map(renderConnection)}
            </ul>`
      }
    </section>
    <section aria-labelledby="connect-title">
      <h2 id="connect-title">Connect an account</h2>
      ${renderOAuthForms(model)} ${model.enabled.azure && renderAzureForm(model.forms?.azure)}
      ${model.enabled.tailscale && renderTailscaleForm(model.forms?.tailscale)}
    </section>
    ${model.enabled.aws && model.aws && renderAwsSection(model.aws, model.forms?.aws)}`;
}

function renderClaim(claim: { code: string; provider: string }): SafeHtml {
  const name = PROVIDER_NAMES[claim.provider as keyof typeof PROVIDER_NAMES] ?? 'the account';
  return html`<section aria-labelledby="claim-title" class="claim">
    <h2 id="claim-title">Finish connecting ${name}</h2>
    <p>The consent is done; one more step makes the connection yours.</p>
    <form method="post" action="/connect/claim" data-auto-submit>
      <input type="hidden" name="claim" value="${claim.code}" />
      <button type="submit">Finish connecting</button>
    </form>
  </section>`;
}

function renderConnection(row: ConnectionRow): SafeHtml {
  const c = row.connection;
  const name = connectionName(c);
  const live = c.status !== 'revoked';
  return html`<li class="connection status-${c.status}" data-connection-id="${c.id}">
    <h3>
      ${PROVIDER_NAMES[c.provider]} <span class="account">${c.display_name ?? c.account_ref}</span>
    </h3>
    <dl>
      <dt>Account</dt>
      <dd>${c.account_ref}</dd>
      <dt>Status</dt>
      <dd class="connection-status">${CONNECTION_STATUS_WORDS[c.status]}</dd>
      ${
        c.expires_at &&
        html`<dt>Token expires</dt>
          <dd><time datetime="${c.expires_at}">${formatTime(c.expires_at)}</time></dd>`
      }
      ${
        row.setup &&
        row.setup.status !== 'not_applicable' &&
        html`<dt>Setup</dt>
          <dd>${renderSetup(c, row.setup)}</dd>`
      }
    </dl>
    ${live && renderActions(c, row.setup, name)}
  </li>`;
}

function renderSetup(c: ConnectionView, setup: SetupView): SafeHtml {
  const polling = SETUP_POLL_STATUSES.has(setup.status);
  return html`<div
    class="setup"
    ${polling ? html` data-setup-url="/connections/${c.id}/setup"` : ''}
  >
    <p><span class="setup-status" data-setup-status>${SETUP_STATUS_WORDS[setup.status]}</span></p>
    <progress
      max="100"
      value="${setup.progress}"
      aria-label="Setup progress of ${connectionName(c)}"
    >
      ${setup.progress}%
    </progress>
    <ol class="steps">
      ${setup.steps.map(
        (s) =>
          html`<li data-step="${s.name}">
            <span class="step-name">${stepLabel(s.name)}</span>:
            <span class="step-status" data-step-status>${SETUP_STEP_WORDS[s.status]}</span
            >${s.detail && html` <span class="step-detail">(${s.detail})</span>`}
          </li>`,
      )}
    </ol>
  </div>`;
}

function renderActions(c: ConnectionView, setup: SetupView | undefined, name: string): SafeHtml {
  const base = `/connect/connections/${encodeURIComponent(c.id)}`;
  const canRetry =
    setup !== undefined &&
    setup.status !== 'not_applicable' &&
    !SETUP_POLL_STATUSES.has(setup.status);
  return html`<div class="actions">
    <form method="post" action="${base}/refresh">
      <button type="submit" aria-label="${`Refresh ${name}`}">Refresh</button>
    </form>
    ${canRetry && renderRetry(base, setup, name)}
    <form method="post" action="${base}/disconnect">
      <button type="submit" class="danger" aria-label="${`Disconnect ${name}`}">Disconnect</button>
    </form>
  </div>`;
}

function renderRetry(base: string, setup: SetupView, name: string): SafeHtml {
  const selecting =
    setup.status === 'needs_selection' && (setup.eligible_projects?.length ?? 0) > 0;
  const chosen = new Set(setup.selection ?? []);
  return html`<form method="post" action="${base}/setup/retry" class="retry">
    ${
      selecting &&
      html`<fieldset>
        <legend>Projects to set up for ${name}</legend>
        ${(setup.eligible_projects ?? []).map(
          (p) =>
            html`<label
              ><input
                type="checkbox"
                name="project_ids"
                value="${p.project_id}"
                ${chosen.has(p.project_id) ? html` checked` : ''}
              />
              ${p.name}
              <span class="project-id">(${p.project_id})</span
              >${p.billing_enabled ? '' : html` <span class="muted">no billing: APIs will not be enabled</span>`}</label
            >`,
        )}
      </fieldset>`
    }
    <button
      type="submit"
      aria-label="${`${selecting ? 'Set up the chosen projects of' : 'Retry setup of'} ${name}`}"
    >
      ${selecting ? 'Set up the chosen projects' : 'Retry setup'}
    </button>
  </form>`;
}

function renderOAuthForms(model: ConnectPageModel): Interpolation {
  return [
    model.enabled.gcp &&
      html`<form method="post" action="/connect/gcp" class="provider">
        <h3>Google Cloud</h3>
        <p>Opens Google's consent screen; setup then prepares your projects.</p>
        <button type="submit">Connect Google Cloud</button>
      </form>`,
    model.enabled.ovhRegions.length > 0 &&
      html`<form method="post" action="/connect/ovh" class="provider">
        <h3>OVHcloud</h3>
        <label for="ovh-region">Region</label>
        <select id="ovh-region" name="region">
          ${model.enabled.ovhRegions.map((r) => html`<option value="${r}">${OVH_REGION_NAMES[r]}</option>`)}
        </select>
        <button type="submit">Connect OVHcloud</button>
      </form>`,
  ];
}

const OVH_REGION_NAMES: Record<OvhRegion, string> = {
  eu: 'Europe (eu)',
  ca: 'Canada (ca)',
  us: 'United States (us)',
};

interface FieldSpec {
  name: string;
  label: string;
  type?: 'text' | 'password';
  optional?: boolean;
  hint?: string;
}

function renderField(form: string, field: FieldSpec, state: FormState | undefined): SafeHtml {
  const id = `${form}-${field.name.replace(/_/g, '-')}`;
  const error = state?.errors[field.name];
  const secret = field.type === 'password';
  const value = secret ? '' : (state?.values[field.name] ?? '');
  const described = [field.hint ? `${id}-hint` : '', error ? `${id}-error` : '']
    .filter(Boolean)
    .join(' ');
  return html`<div class="field${error ? ' invalid' : ''}">
    <label for="${id}">${field.label}${field.optional ? ' (optional)' : ''}</label>
    ${field.hint && html`<p class="hint" id="${id}-hint">${field.hint}</p>`}
    ${error && html`<p class="field-error" id="${id}-error">${error}</p>`}
    <input
      id="${id}"
      name="${field.name}"
      type="${field.type ?? 'text'}"
      value="${value}"
      ${field.optional ? '' : html` required`}${secret ? html` autocomplete="off"` : html` autocomplete="off" spellcheck="false"`}${described ? html` aria-describedby="${described}"` : ''}${error ? html` aria-invalid="true"` : ''}
    />
  </div>`;
}

function renderAzureForm(state: FormState | undefined): SafeHtml {
  const fields: FieldSpec[] = [
    {
      name: 'tenant_id',
      label: 'Tenant id',
      hint: 'A GUID, or a verified domain such as contoso.onmicrosoft.com',
    },
    { name: 'client_id', label: 'Application (client) id' },
    {
      name: 'client_secret',
      label: 'Client secret',
      type: 'password',
      hint: 'Kept in the vault only',
    },
    {
      name: 'subscription_id',
      label: 'Subscription id',
      optional: true,
      hint: 'Else the first enabled subscription',
    },
  ];
  return html`<form method="post" action="/connect/azure" class="provider" novalidate>
    <h3>Azure service principal</h3>
    ${fields.map((f) => renderField('azure', f, state))}
    <button type="submit">Connect Azure</button>
  </form>`;
}

function renderTailscaleForm(state: FormState | undefined): SafeHtml {
  const fields: FieldSpec[] = [
    { name: 'client_id', label: 'OAuth client id' },
    {
      name: 'client_secret',
      label: 'OAuth client secret',
      type: 'password',
      hint: 'tskey-client-…; kept in the vault only',
    },
    {
      name: 'tailnet',
      label: 'Tailnet',
      optional: true,
      hint: "Else the OAuth client's own tailnet",
    },
  ];
  return html`<form method="post" action="/connect/tailscale" class="provider" novalidate>
    <h3>Tailscale OAuth client</h3>
    ${fields.map((f) => renderField('tailscale', f, state))}
    <button type="submit">Connect Tailscale</button>
  </form>`;
}

function renderAwsSection(aws: AwsSection, state: FormState | undefined): SafeHtml {
  const fields: FieldSpec[] = [
    {
      name: 'role_arn',
      label: 'Role ARN',
      hint: 'arn:aws:iam::<account id>:role/<name>, with the trust policy above attached',
    },
    { name: 'region', label: 'Region', optional: true, hint: "Else the broker's default region" },
    {
      name: 'session_duration_seconds',
      label: 'Session duration in seconds',
      optional: true,
      hint: "900 to 43200, at most the role's maximum session duration (default 3600)",
    },
  ];
  return html`<section aria-labelledby="aws-title" class="aws">
    <h2 id="aws-title">Connect AWS</h2>
    ${
      'unavailable' in aws
        ? html`<p class="alert">${aws.unavailable}</p>`
        : html`<p>
              The broker assumes a role in your account. Attach this trust policy to the role (IAM,
              the role, Trust relationships): it lets the broker in only with your external id.
            </p>
            <dl class="aws-identity">
              <dt>Your external id</dt>
              <dd><code id="aws-external-id">${aws.externalId}</code></dd>
              <dt>Broker principal</dt>
              <dd><code id="aws-principal">${aws.principalArn}</code></dd>
            </dl>
            <h3 id="aws-policy-title">Trust policy</h3>
            <pre class="policy" aria-labelledby="aws-policy-title" tabindex="0">
${aws.trustPolicy}</pre>`
    }
    <form method="post" action="/connect/aws" class="provider" novalidate>
      <h3>AWS role</h3>
      ${fields.map((f) => renderField('aws', f, state))}
      <button type="submit">Connect AWS</button>
    </form>
  </section>`;
}

/** A page of its own for errors that come before the connect page can be drawn (guard, 404). */
export function renderErrorPage(message: string): SafeHtml {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>Connect your cloud accounts · credential broker</title>
        <link rel="stylesheet" href="/connect/assets/connect.css" />
        <link rel="icon" href="/connect/assets/favicon.svg" type="image/svg+xml" />
      </head>
      <body>
        <header class="top"><h1>Connect your cloud accounts</h1></header>
        <main>
          <div class="alert" role="alert">${message}</div>
          <p><a href="/connect">Back to the connect page</a></p>
        </main>
      </body>
    </html> `;
}
