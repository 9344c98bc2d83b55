import { type CookieJar, followRedirects } from '../fakes/identity-browser';

/**
 * What a person's browser does at the broker's authorization server, without a browser: submits
 * its forms (the device code confirmation, the consent page's Allow) with the cookies of `jar`
 * (the broker session from a sign-in, the library's interaction cookies) and follows redirects.
 * For fetch-driven e2e tests; the browser tests click through the same pages in Chromium.
 */
export interface PageAnswer {
  url: string;
  status: number;
  text: string;
  location?: string;
}

function formFields(
  html: string,
  formId?: string,
): { action: string; fields: Record<string, string> } {
  const forms = [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)];
  const form = formId ? forms.find((f) => f[1].includes(`id="${formId}"`)) : forms[0];
  if (!form) throw new Error(`no form${formId ? ` #${formId}` : ''} in: ${html.slice(0, 500)}`);
  const action = /action="([^"]+)"/.exec(form[1])?.[1] ?? '';
  const fields: Record<string, string> = {};
  for (const input of form[2].matchAll(/<input\b([^>]*)>/g)) {
    const name = /name="([^"]+)"/.exec(input[1])?.[1];
    const value = /value="([^"]*)"/.exec(input[1])?.[1] ?? '';
    if (name) fields[name] = value.replace(/&amp;/g, '&');
  }
  return { action: action.replace(/&amp;/g, '&'), fields };
}

async function post(
  url: string,
  fields: Record<string, string>,
  jar: CookieJar,
  origin: string,
): Promise<PageAnswer> {
  const cookie = jar.header(url);
  const res = await fetch(url, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      origin,
      ...(cookie ? { cookie } : {}),
    },
    body: new URLSearchParams(fields),
  });
  jar.store(url, res.headers.getSetCookie());
  const location = res.headers.get('location') ?? undefined;
  const text = await res.text();
  if (location && res.status >= 300 && res.status < 400) {
    const next = await followRedirects(new URL(location, url).toString(), { cookieJar: jar });
    return { url: next.url, status: next.status, text: next.text, location: next.location };
  }
  return { url, status: res.status, text, location };
}

/** Approves a device code (RFC 8628) as the person signed in through `jar`: code → consent → done. */
export async function approveDevice(
  verificationUriComplete: string,
  jar: CookieJar,
): Promise<PageAnswer> {
  const origin = new URL(verificationUriComplete).origin;
  // The prefilled code page is a form the browser submits by itself.
  const first = await followRedirects(verificationUriComplete, { cookieJar: jar });
  const auto = formFields(first.text);
  const confirmPage = await post(new URL(auto.action, origin).toString(), auto.fields, jar, origin);
  const confirm = formFields(confirmPage.text, 'op.deviceConfirmForm');
  const consentPage = await post(
    new URL(confirm.action, origin).toString(),
    confirm.fields,
    jar,
    origin,
  );
  return allow(consentPage, jar, origin);
}

/** Clicks Allow on the broker's consent page and follows where it leads. */
export async function allow(
  consentPage: PageAnswer,
  jar: CookieJar,
  origin: string,
): Promise<PageAnswer> {
  const action = /<form method="post" action="([^"]+\/confirm)">/.exec(consentPage.text)?.[1];
  if (!action)
    throw new Error(
      `not the consent page (${consentPage.status}): ${consentPage.text.slice(0, 500)}`,
    );
  return post(new URL(action, origin).toString(), {}, jar, origin);
}
