import { type OAuthPages } from '../identity/authorization-server/oauth-pages';
import { type SafeHtml, html, safe } from './html';

/** Words for the scopes a client asks for, on the consent page. */
export const SCOPE_WORDS: Record<string, string> = {
  'connections:read': 'see your connected cloud accounts and their status',
  'connections:write': 'connect, refresh and disconnect your cloud accounts',
  'tokens:read': 'read short-lived access tokens of your cloud accounts',
  offline_access: 'stay signed in (a refresh token) until you sign it out',
};

/** The action and CSRF value of the library's device form (markup it made, read not trusted). */
function libraryForm(form: string): { action: string; xsrf: string } {
  const action = /action="([^"]+)"/.exec(form)?.[1] ?? '/oauth/device';
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(form)?.[1] ?? '';
  return { action: new URL(action, 'http://x').pathname, xsrf };
}

function layout(title: string, body: SafeHtml): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · credential broker</title>
        <link rel="stylesheet" href="/connect/assets/connect.css" />
        <link rel="icon" href="/connect/assets/favicon.svg" type="image/svg+xml" />
      </head>
      <body>
        <header class="top"><h1>${title}</h1></header>
        <main>${body}</main>
      </body>
    </html>`.value;
}

/**
 * The library's own form opening tag (with its CSRF field) is markup it made, so it is inserted
 * as it is; everything else is escaped.
 */
export const OAUTH_PAGES: OAuthPages = {
  deviceCodeInput: ({ form, error }) => {
    // The library's input form has no label; the page draws its own with the same action and
    // CSRF field.
    const { action, xsrf } = libraryForm(form);
    return layout(
      'Sign in a device',
      html`${error && html`<div class="alert" role="alert">${error}</div>`}
        <section class="card">
          <form method="post" action="${action}">
            <input type="hidden" name="xsrf" value="${xsrf}" />
            <label for="user-code">The code your command-line tool or device shows</label>
            <input
              id="user-code"
              name="user_code"
              autocomplete="off"
              autocapitalize="characters"
              spellcheck="false"
              required
            />
            <button type="submit">Continue</button>
          </form>
        </section>`,
    );
  },
  deviceCodeConfirm: ({ form, clientName, userCode }) =>
    layout(
      'Sign in a device',
      html`<section class="card">
        <p><strong>${clientName}</strong> asks to act for you. The code it shows must be:</p>
        <p class="user-code"><code>${userCode}</code></p>
        ${safe(form)}
        <button type="submit" form="op.deviceConfirmForm">Yes, it is my device</button>
        <button type="submit" form="op.deviceConfirmForm" name="abort" value="yes" class="danger">
          No, cancel
        </button>
      </section>`,
    ),
  deviceDone: ({ clientName }) =>
    layout(
      'Device signed in',
      html`<section class="card">
        <p role="status">
          ${clientName ?? 'The device'} is signed in. You can close this page and return to it.
        </p>
      </section>`,
    ),
  error: ({ error, description }) =>
    layout(
      'Sign-in error',
      html`<div class="alert" role="alert">
          ${description || 'The request could not be completed.'} (${error})
        </div>
        <p><a href="/connect">Back to the connect page</a></p>`,
    ),
};

export function renderConsentPage(input: {
  uid: string;
  clientName: string;
  clientId: string;
  redirectOrigin: string | null;
  scopes: string[];
  resources: string[];
  userLabel: string;
}): string {
  const action = `/oauth/interaction/${encodeURIComponent(input.uid)}`;
  return layout(
    'Allow access',
    html`<section class="card" aria-labelledby="consent-title">
      <h2 id="consent-title">${input.clientName} wants to act for you</h2>
      <p>
        Signed in as <strong>${input.userLabel}</strong>. Client id <code>${input.clientId}</code>${
          input.redirectOrigin && html`, returning to <code>${input.redirectOrigin}</code>`
        }.
      </p>
      <p>It asks to:</p>
      <ul>
        ${input.scopes.map((s) => html`<li>${SCOPE_WORDS[s] ?? s} <code>${s}</code></li>`)}
      </ul>
      <p>For: ${input.resources.map((r, i) => html`${i > 0 ? ', ' : ''}<code>${r}</code>`)}</p>
      <form method="post" action="${action}/confirm">
        <button type="submit">Allow</button>
      </form>
      <form method="post" action="${action}/abort">
        <button type="submit" class="danger">Deny</button>
      </form>
    </section>`,
  );
}

export function renderSignInChoice(input: {
  links: { href: string; label: string }[];
  message?: string;
}): string {
  return layout(
    'Sign in to continue',
    html`<section class="card">
      <p>${input.message ?? 'Sign in to the broker to let the application act for you.'}</p>
      <ul class="signin">
        ${input.links.map((l) => html`<li><a class="button" href="${l.href}">${l.label}</a></li>`)}
      </ul>
    </section>`,
  );
}
