import { type LoginConfig } from '../config/config';
import { type SessionIdentity } from './caller';

/**
 * Who may sign in (SPEC §9), oauth2-proxy's rules: a listed email or login, or the domain of a
 * *verified* email, or anyone when LOGIN_ALLOW_ANY=true was said explicitly. Checked at sign-in
 * and again on every use of a session, so removing someone from the list takes effect at once.
 */
export function isAllowed(identity: SessionIdentity, login: LoginConfig): boolean {
  if (login.allowAny) return true;
  if (matchesUser(identity, login.allowedUsers)) return true;
  const domain = verifiedDomain(identity);
  return domain !== null && login.allowedDomains.includes(domain);
}

/** May open /admin/* with the session (ADMIN_USERS). */
export function isAdmin(identity: SessionIdentity, login: LoginConfig): boolean {
  return isAllowed(identity, login) && matchesUser(identity, login.adminUsers);
}

/**
 * A listed email counts only when the identity provider verified it: an unverified address is
 * whatever the person typed into their profile.
 */
function matchesUser(identity: SessionIdentity, listed: readonly string[]): boolean {
  const email = identity.emailVerified ? identity.email?.toLowerCase() : undefined;
  const username = identity.provider === 'github' ? identity.username?.toLowerCase() : undefined;
  return (
    (email !== undefined && listed.includes(email)) ||
    (username !== undefined && listed.includes(username))
  );
}

function verifiedDomain(identity: SessionIdentity): string | null {
  if (!identity.emailVerified || !identity.email) return null;
  const at = identity.email.lastIndexOf('@');
  return at < 0 ? null : identity.email.slice(at + 1).toLowerCase();
}
