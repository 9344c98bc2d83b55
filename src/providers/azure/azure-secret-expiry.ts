import { type MaintainOutcome } from '../provider';

/**
 * When the service principal's client secret expires (SPEC §14), read from Microsoft Graph's
 * application object, and what the broker does about it. Pure rules, so a unit test walks them;
 * the Graph call itself is `AzureClient.secretExpiry`.
 */

/** Why the expiry is not known; shown on the connection as `secret_expiry_unknown`. */
export type SecretExpiryUnknown =
  /** Graph answered 401/403 (Authorization_RequestDenied): the principal may not read its app. */
  | 'graph_forbidden'
  /** Graph or its token could not be had: 5xx, 429, network, timeout, an answer we cannot read. */
  | 'graph_unavailable'
  /** No application with this appId, or none of its secrets is the one the broker holds. */
  | 'not_found';

export type SecretExpiry =
  | { known: true; expiresAt: Date }
  /** `detail` (an HTTP status, Graph's error word, `timeout`) is for the log line only. */
  | { known: false; reason: SecretExpiryUnknown; detail?: string };

/** `connection.secret_expiring` is raised this long before the secret expires. */
export const SECRET_EXPIRING_WITHIN_MS = 14 * 24 * 3600 * 1000;

/** The connection metadata keys this file owns. */
export const SECRET_EXPIRES_AT = 'secret_expires_at';
export const SECRET_EXPIRY_UNKNOWN = 'secret_expiry_unknown';
/** The expiry `connection.secret_expiring` was raised for: raised once per expiry. */
export const SECRET_EXPIRING_RAISED_FOR = 'secret_expiring_raised_for';

/** One `passwordCredential` of a Graph application, as far as the broker reads it. */
interface PasswordCredential {
  hint: string;
  endsAt: number;
}

/**
 * The expiry of the secret the broker holds, out of `GET /applications(appId=…)`'s body. Graph
 * never returns a secret's value, only its `hint` (its first three characters), so the secret in
 * use is the one whose hint matches. Several may share a hint (about one in 250 000 for two
 * generated secrets, likelier for secrets made by hand): we take the one that expires **first**
 * among those still valid, since the broker just authenticated with its secret — a warning that
 * comes early is better than one that never comes. Should that one expire while the connection
 * still works (ours was the later one), the next maintenance pass reads Graph again and finds the
 * later one. Only when every match has already expired is the earliest of them taken.
 */
export function expiryFromApplication(
  body: unknown,
  clientSecret: string,
  now: number,
): SecretExpiry {
  const credentials = passwordCredentials(body);
  if (!credentials) return { known: false, reason: 'graph_unavailable' };
  const hint = clientSecret.slice(0, 3);
  const matching = credentials.filter((c) => c.hint === hint).sort((a, b) => a.endsAt - b.endsAt);
  const chosen = matching.find((c) => c.endsAt > now) ?? matching[0];
  return chosen
    ? { known: true, expiresAt: new Date(chosen.endsAt) }
    : { known: false, reason: 'not_found' };
}

/** The readable password credentials of an application body, or undefined when it is not one. */
function passwordCredentials(body: unknown): PasswordCredential[] | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const list = (body as { passwordCredentials?: unknown }).passwordCredentials;
  if (!Array.isArray(list)) return undefined;
  const out: PasswordCredential[] = [];
  for (const item of list as unknown[]) {
    if (item === null || typeof item !== 'object') continue;
    const { hint, endDateTime } = item as { hint?: unknown; endDateTime?: unknown };
    const endsAt = typeof endDateTime === 'string' ? Date.parse(endDateTime) : NaN;
    if (typeof hint === 'string' && Number.isFinite(endsAt)) out.push({ hint, endsAt });
  }
  return out;
}

/** The metadata that records an expiry, known or not; both keys always, so a merge replaces both. */
export function secretExpiryMetadata(expiry: SecretExpiry): Record<string, string | null> {
  return expiry.known
    ? { [SECRET_EXPIRES_AT]: expiry.expiresAt.toISOString(), [SECRET_EXPIRY_UNKNOWN]: null }
    : { [SECRET_EXPIRES_AT]: null, [SECRET_EXPIRY_UNKNOWN]: expiry.reason };
}

/** The known expiry a connection records, in ms, or undefined. */
export function recordedExpiry(metadata: Record<string, unknown>): number | undefined {
  const value = metadata[SECRET_EXPIRES_AT];
  const at = typeof value === 'string' ? Date.parse(value) : NaN;
  return Number.isFinite(at) ? at : undefined;
}

/**
 * Whether a maintenance pass should ask Graph. A secret's expiry never changes (Graph can add and
 * remove a password credential, not alter one), and a reconnect with a new secret records its own,
 * so a known expiry is read again only once it has passed while the connection still works (the
 * hint picked the wrong one of two, above). Unknown — Graph refused, was down, or a connection
 * from before the broker recorded expiries — is asked every pass, so a permission granted later or
 * a Graph back up is picked up.
 */
export function needsSecretLookup(metadata: Record<string, unknown>, now: number): boolean {
  const at = recordedExpiry(metadata);
  return at === undefined || at <= now;
}

/**
 * What a maintenance pass makes of the recorded metadata and, when Graph was asked, its answer:
 * the metadata to merge (only what changed) and `connection.secret_expiring` once per expiry, when
 * it is 14 days away or less. Null when nothing changes.
 *
 * A failed lookup never replaces a known expiry: the secret is the same one, so the recorded
 * expiry is still true; it only replaces an unknown of another reason.
 */
export function secretExpiryUpkeep(
  metadata: Record<string, unknown>,
  found: SecretExpiry | null,
  now: number,
): MaintainOutcome | null {
  const patch: Record<string, unknown> = {};
  if (found && (found.known || recordedExpiry(metadata) === undefined)) {
    for (const [key, value] of Object.entries(secretExpiryMetadata(found))) {
      if (metadata[key] !== value) patch[key] = value;
    }
  }
  const expiresAt = recordedExpiry({ ...metadata, ...patch });
  const outcome: MaintainOutcome = { metadata: patch, events: [] };
  if (expiresAt !== undefined && expiresAt - now <= SECRET_EXPIRING_WITHIN_MS) {
    const iso = new Date(expiresAt).toISOString();
    if (metadata[SECRET_EXPIRING_RAISED_FOR] !== iso) {
      patch[SECRET_EXPIRING_RAISED_FOR] = iso;
      outcome.events = [{ type: 'connection.secret_expiring', data: { secret_expires_at: iso } }];
      outcome.did = `client secret expires ${iso}: connection.secret_expiring raised`;
    }
  }
  return Object.keys(patch).length > 0 ? outcome : null;
}
