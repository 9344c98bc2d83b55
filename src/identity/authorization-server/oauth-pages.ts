/**
 * The pages the authorization server shows (device code entry and confirmation, the end of a
 * device sign-in, errors). They are drawn by web/ in the connect page's style; identity/ only
 * knows this shape, and web/ hands its implementation over at start (it stands above identity/).
 */
export interface OAuthPages {
  /** The user-code form; `form` is the library's `<form>` opening tag with its CSRF field. */
  deviceCodeInput(input: { form: string; error?: string; userCode?: string }): string;
  /** "Is this the code your device shows?" before the sign-in and consent. */
  deviceCodeConfirm(input: { form: string; clientName: string; userCode: string }): string;
  deviceDone(input: { clientName: string | null }): string;
  error(input: { error: string; description: string }): string;
}

export const OAUTH_PAGES_UNSET: OAuthPages = {
  deviceCodeInput: () => 'device flow pages are not available',
  deviceCodeConfirm: () => 'device flow pages are not available',
  deviceDone: () => 'done',
  error: ({ error }) => `error: ${error.replace(/[^a-z_]/g, '')}`,
};
