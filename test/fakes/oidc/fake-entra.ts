import { createHash, randomUUID } from 'node:crypto';
import { type FakeOidc, type OidcConsent, startFakeOidc } from './fake-oidc';

/**
 * Microsoft Entra ID (the v2.0 endpoint of login.microsoftonline.com) as the broker's sign-in sees
 * it, a thin layer over the OIDC emulator, following Microsoft's documented shape ("Microsoft
 * identity platform ID tokens", "OpenID Connect on the Microsoft identity platform"): the
 * tenant-specific issuer `${authority}/${tenantId}/v2.0` (discovery at
 * `${authority}/${tenantId}/v2.0/.well-known/openid-configuration`), id_tokens carrying `tid`,
 * `oid`, `preferred_username`, `name`, `email` (when the account has one) and NO
 * `email_verified`, a `sub` that is pairwise (per application), not the `oid`. An account with a
 * `tid` other than the emulator's tenant stands for a guest/cross-tenant token, for the broker's
 * tenant check.
 */

export interface EntraAccount {
  /** The user's object id in the directory (a GUID). */
  oid: string;
  /** The tenant of the token; defaults to the emulator's `tenantId`. */
  tid?: string;
  email?: string;
  preferred_username: string;
  name: string;
}

export interface FakeEntra {
  /** `LOGIN_ENTRA_AUTHORITY`: the origin, as `https://login.microsoftonline.com` is. */
  authority: string;
  tenantId: string;
  /** `${authority}/${tenantId}/v2.0`. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The OIDC emulator underneath (calls, redirectUris, faults, issuedSecrets). */
  oidc: FakeOidc;
  /** The broker's LOGIN_ENTRA_* variables pointing at this emulator. */
  env(): Record<string, string>;
  addAccount(account: EntraAccount): void;
  /** Who signs in at the next authorization, by object id (default: the first account). */
  signInAs(oid: string): void;
  /** The `sub` Entra gives this account in this application's tokens. */
  subOf(oid: string): string;
  setConsent(mode: OidcConsent): void;
  denyNext(): void;
  failTokenNext: FakeOidc['failTokenNext'];
  nextIdTokenClaims: FakeOidc['nextIdTokenClaims'];
  issuedSecrets(): string[];
  close(): Promise<void>;
}

export async function startFakeEntra(
  options: {
    tenantId?: string;
    port?: number;
    clientId?: string;
    clientSecret?: string;
    redirectUris?: string[];
    consent?: OidcConsent;
    accounts?: EntraAccount[];
  } = {},
): Promise<FakeEntra> {
  const tenantId = options.tenantId ?? randomUUID();
  const clientId = options.clientId ?? randomUUID();
  const oidc = await startFakeOidc({
    issuerPath: `/${tenantId}/v2.0`,
    port: options.port,
    clientId,
    clientSecret: options.clientSecret ?? `Ent8Q~${randomUUID().replace(/-/g, '')}`,
    redirectUris: options.redirectUris,
    consent: options.consent,
    extraClaims: ['tid', 'oid', 'ver'],
    emailClaims: ['email'],
    name: 'Microsoft',
  });
  // Entra's sub is pairwise: unique per user and application, unlike oid.
  const subOf = (oid: string) =>
    createHash('sha256').update(`${oid}:${clientId}`).digest('base64url');
  const add = (a: EntraAccount) =>
    oidc.addAccount({
      sub: subOf(a.oid),
      oid: a.oid,
      tid: a.tid ?? tenantId,
      ver: '2.0',
      name: a.name,
      preferred_username: a.preferred_username,
      ...(a.email === undefined ? {} : { email: a.email }),
    });
  for (const a of options.accounts ?? []) add(a);

  return {
    authority: oidc.url,
    tenantId,
    issuer: oidc.issuer,
    clientId,
    clientSecret: oidc.clientSecret,
    oidc,
    env: () => ({
      LOGIN_ENTRA_AUTHORITY: oidc.url,
      LOGIN_ENTRA_TENANT_ID: tenantId,
      LOGIN_ENTRA_CLIENT_ID: clientId,
      LOGIN_ENTRA_CLIENT_SECRET: oidc.clientSecret,
    }),
    addAccount: add,
    signInAs: (oid) => oidc.signInAs(subOf(oid)),
    subOf,
    setConsent: (mode) => oidc.setConsent(mode),
    denyNext: () => oidc.denyNext(),
    failTokenNext: (kind, status) => oidc.failTokenNext(kind, status),
    nextIdTokenClaims: (overrides) => oidc.nextIdTokenClaims(overrides),
    issuedSecrets: () => oidc.issuedSecrets(),
    close: () => oidc.close(),
  };
}
