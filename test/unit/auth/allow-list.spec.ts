import { isAdmin, isAllowed } from '../../../src/auth/allow-list';
import { type SessionIdentity } from '../../../src/auth/caller';
import { testConfig } from '../../support/test-config';

const person = (over: Partial<SessionIdentity> = {}): SessionIdentity => ({
  id: 'github:1',
  provider: 'github',
  email: 'alice@example.com',
  emailVerified: true,
  name: 'Alice',
  username: 'alice-gh',
  ...over,
});

const login = (env: Record<string, string>) =>
  testConfig(
    {},
    {
      LOGIN_PROVIDERS: 'github',
      LOGIN_GITHUB_CLIENT_ID: 'i',
      LOGIN_GITHUB_CLIENT_SECRET: 's',
      ...env,
    },
  ).login;

describe('allow-list (SPEC §9)', () => {
  it('admits a listed verified email or GitHub login, case-insensitively', () => {
    const users = login({ LOGIN_ALLOWED_USERS: 'ALICE@example.com' });
    expect(isAllowed(person(), users)).toBe(true);
    expect(isAllowed(person({ email: 'bob@example.com' }), users)).toBe(false);
    const logins = login({ LOGIN_ALLOWED_USERS: 'Alice-GH' });
    expect(isAllowed(person({ email: null, emailVerified: false }), logins)).toBe(true);
  });

  it('never counts an unverified email, for users or for domains', () => {
    const config = login({
      LOGIN_ALLOWED_USERS: 'alice@example.com',
      LOGIN_ALLOWED_DOMAINS: 'example.com',
    });
    expect(isAllowed(person({ emailVerified: false, username: 'someone' }), config)).toBe(false);
  });

  it('matches domains exactly, not by suffix', () => {
    const config = login({ LOGIN_ALLOWED_DOMAINS: 'example.com' });
    expect(isAllowed(person({ email: 'x@example.com' }), config)).toBe(true);
    expect(isAllowed(person({ email: 'x@evilexample.com' }), config)).toBe(false);
    expect(isAllowed(person({ email: 'x@sub.example.com' }), config)).toBe(false);
  });

  it('takes a login name only from GitHub (an OIDC preferred_username is self-chosen)', () => {
    const config = login({ LOGIN_ALLOWED_USERS: 'alice-gh' });
    expect(isAllowed(person({ provider: 'oidc', email: null, emailVerified: false }), config)).toBe(
      false,
    );
  });

  it('admits anyone only with LOGIN_ALLOW_ANY', () => {
    expect(
      isAllowed(person({ email: null, emailVerified: false }), login({ LOGIN_ALLOW_ANY: 'true' })),
    ).toBe(true);
  });

  it('makes admins of ADMIN_USERS who are also allowed', () => {
    const config = login({
      LOGIN_ALLOWED_DOMAINS: 'example.com',
      ADMIN_USERS: 'alice@example.com',
    });
    expect(isAdmin(person(), config)).toBe(true);
    expect(isAdmin(person({ email: 'carol@example.com' }), config)).toBe(false);
    const notAllowed = login({
      LOGIN_ALLOWED_DOMAINS: 'other.org',
      ADMIN_USERS: 'alice@example.com',
    });
    expect(isAdmin(person(), notAllowed)).toBe(false);
  });
});
