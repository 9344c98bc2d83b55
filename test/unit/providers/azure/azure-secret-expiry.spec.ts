import {
  SECRET_EXPIRING_WITHIN_MS,
  expiryFromApplication,
  needsSecretLookup,
  secretExpiryMetadata,
  secretExpiryUpkeep,
} from '../../../../src/providers/azure/azure-secret-expiry';
import { FakeClock } from '../../../support/fake-clock';

const DAY = 86_400_000;
const clock = new FakeClock({ start: new Date('2026-12-02T04:00:00.000Z') });
const inDays = (n: number) => new Date(clock.now() + n * DAY).toISOString();
const SECRET = 'Xy7~q0Fh5mVqR2l9sTzWkN3pC8bE1uJdA4gYoLi';

/** A Graph application body with the given (hint, endDateTime) secrets. */
function app(...creds: [hint: string, end: string | null][]) {
  return {
    '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#applications/$entity',
    id: 'f9b1c0de-0000-4000-8000-000000000001',
    appId: '4a53c0de-0000-4000-8000-000000000002',
    passwordCredentials: creds.map(([hint, endDateTime], i) => ({
      customKeyIdentifier: null,
      displayName: `secret ${i}`,
      endDateTime,
      hint,
      keyId: `00000000-0000-4000-8000-00000000000${i}`,
      secretText: null,
      startDateTime: inDays(-30),
    })),
  };
}

describe('expiryFromApplication: which of the app’s secrets is the one the broker holds', () => {
  it('is the one whose hint is the secret’s first three characters', () => {
    const body = app(['abc', inDays(300)], ['Xy7', inDays(120)], ['xy7', inDays(10)]);
    expect(expiryFromApplication(body, SECRET, clock.now())).toEqual({
      known: true,
      expiresAt: new Date(inDays(120)),
    });
  });

  it('with several of the same hint, takes the one that expires first among those still valid', () => {
    const body = app(['Xy7', inDays(200)], ['Xy7', inDays(-5)], ['Xy7', inDays(40)]);
    expect(expiryFromApplication(body, SECRET, clock.now())).toEqual({
      known: true,
      expiresAt: new Date(inDays(40)),
    });
  });

  it('when every match has expired already, takes the earliest of them', () => {
    const body = app(['Xy7', inDays(-1)], ['Xy7', inDays(-9)]);
    expect(expiryFromApplication(body, SECRET, clock.now())).toEqual({
      known: true,
      expiresAt: new Date(inDays(-9)),
    });
  });

  it('is not_found when no secret has that hint, or the match has no readable end date', () => {
    expect(expiryFromApplication(app(['abc', inDays(9)]), SECRET, clock.now())).toEqual({
      known: false,
      reason: 'not_found',
    });
    expect(expiryFromApplication(app(['Xy7', null]), SECRET, clock.now())).toEqual({
      known: false,
      reason: 'not_found',
    });
    expect(expiryFromApplication(app(['Xy7', 'soon']), SECRET, clock.now())).toEqual({
      known: false,
      reason: 'not_found',
    });
    expect(expiryFromApplication(app(), SECRET, clock.now())).toEqual({
      known: false,
      reason: 'not_found',
    });
  });

  it.each([
    ['not an object', 'nope'],
    ['null', null],
    ['an application without passwordCredentials', { id: 'x', appId: 'y' }],
    ['passwordCredentials that are not a list', { passwordCredentials: { hint: 'Xy7' } }],
  ])('calls %s graph_unavailable (an answer the broker cannot read)', (_what, body) => {
    expect(expiryFromApplication(body, SECRET, clock.now())).toEqual({
      known: false,
      reason: 'graph_unavailable',
    });
  });
});

describe('secretExpiryMetadata', () => {
  it('always sets both keys, so a merge replaces an earlier answer whole', () => {
    expect(secretExpiryMetadata({ known: true, expiresAt: new Date(inDays(3)) })).toEqual({
      secret_expires_at: inDays(3),
      secret_expiry_unknown: null,
    });
    expect(
      secretExpiryMetadata({ known: false, reason: 'graph_forbidden', detail: 'http_403 x' }),
    ).toEqual({ secret_expires_at: null, secret_expiry_unknown: 'graph_forbidden' });
  });
});

describe('needsSecretLookup', () => {
  it('asks Graph while the expiry is unknown or has passed, not while a future one is known', () => {
    expect(needsSecretLookup({}, clock.now())).toBe(true);
    expect(
      needsSecretLookup({ secret_expires_at: null, secret_expiry_unknown: 'graph_forbidden' }, clock.now()), // prettier-ignore
    ).toBe(true);
    expect(needsSecretLookup({ secret_expires_at: inDays(-1) }, clock.now())).toBe(true);
    expect(needsSecretLookup({ secret_expires_at: inDays(1) }, clock.now())).toBe(false);
  });
});

describe('secretExpiryUpkeep: what a maintenance pass records and raises', () => {
  const base = { tenant_id: 't', client_id: 'c', subscription_id: 's', subscription_name: 'n' };
  const known = (days: number) => ({ known: true as const, expiresAt: new Date(inDays(days)) });

  it('records a newly readable expiry far away, and raises nothing', () => {
    const metadata = { ...base, secret_expires_at: null, secret_expiry_unknown: 'graph_forbidden' };
    expect(secretExpiryUpkeep(metadata, known(90), clock.now())).toEqual({
      metadata: { secret_expires_at: inDays(90), secret_expiry_unknown: null },
      events: [],
    });
  });

  it('raises connection.secret_expiring once the expiry is 14 days away, and remembers for which', () => {
    const metadata = { ...base, secret_expires_at: inDays(14), secret_expiry_unknown: null };
    const outcome = secretExpiryUpkeep(metadata, null, clock.now());
    expect(outcome).toEqual({
      metadata: { secret_expiring_raised_for: inDays(14) },
      events: [{ type: 'connection.secret_expiring', data: { secret_expires_at: inDays(14) } }],
      did: `client secret expires ${inDays(14)}: connection.secret_expiring raised`,
    });
    // The next pass, with what the first recorded merged in, raises nothing more.
    const after = { ...metadata, ...outcome?.metadata };
    expect(secretExpiryUpkeep(after, null, clock.now())).toBeNull();
    clock.advance(10 * DAY);
    expect(secretExpiryUpkeep(after, null, clock.now())).toBeNull();
  });

  it('does not raise while more than 14 days are left', () => {
    const metadata = { ...base, secret_expires_at: inDays(14.01), secret_expiry_unknown: null };
    expect(secretExpiryUpkeep(metadata, null, clock.now())).toBeNull();
    clock.advance(0.02 * DAY);
    expect(secretExpiryUpkeep(metadata, null, clock.now())?.events).toHaveLength(1);
  });

  it('raises again for a different expiry (a reconnect with a new secret)', () => {
    const metadata = {
      ...base,
      secret_expires_at: inDays(5),
      secret_expiry_unknown: null,
      secret_expiring_raised_for: inDays(-40),
    };
    expect(secretExpiryUpkeep(metadata, null, clock.now())?.events).toEqual([
      { type: 'connection.secret_expiring', data: { secret_expires_at: inDays(5) } },
    ]);
  });

  it('raises at once for an expiry first read inside the window', () => {
    const metadata = {
      ...base,
      secret_expires_at: null,
      secret_expiry_unknown: 'graph_unavailable',
    };
    expect(secretExpiryUpkeep(metadata, known(2), clock.now())).toEqual({
      metadata: {
        secret_expires_at: inDays(2),
        secret_expiry_unknown: null,
        secret_expiring_raised_for: inDays(2),
      },
      events: [{ type: 'connection.secret_expiring', data: { secret_expires_at: inDays(2) } }],
      did: expect.stringContaining('connection.secret_expiring raised') as string,
    });
  });

  it('never forgets a known expiry because Graph failed', () => {
    const metadata = { ...base, secret_expires_at: inDays(-1), secret_expiry_unknown: null, secret_expiring_raised_for: inDays(-1) }; // prettier-ignore
    for (const reason of ['graph_forbidden', 'graph_unavailable', 'not_found'] as const) {
      expect(secretExpiryUpkeep(metadata, { known: false, reason }, clock.now())).toBeNull();
    }
  });

  it('records a changed reason for an unknown expiry, and nothing when it is the same', () => {
    const metadata = {
      ...base,
      secret_expires_at: null,
      secret_expiry_unknown: 'graph_unavailable',
    };
    expect(
      secretExpiryUpkeep(metadata, { known: false, reason: 'graph_forbidden' }, clock.now()),
    ).toEqual({ metadata: { secret_expiry_unknown: 'graph_forbidden' }, events: [] });
    expect(
      secretExpiryUpkeep(metadata, { known: false, reason: 'graph_unavailable' }, clock.now()),
    ).toBeNull();
  });

  it('records an expiry on a connection made before the broker read them', () => {
    expect(
      secretExpiryUpkeep(base, { known: false, reason: 'graph_forbidden' }, clock.now()),
    ).toEqual({
      metadata: { secret_expires_at: null, secret_expiry_unknown: 'graph_forbidden' },
      events: [],
    });
  });

  it('a later expiry found after the first passed (two secrets of one hint) is raised for anew', () => {
    const metadata = { ...base, secret_expires_at: inDays(-1), secret_expiry_unknown: null, secret_expiring_raised_for: inDays(-1) }; // prettier-ignore
    expect(secretExpiryUpkeep(metadata, known(12), clock.now())).toEqual({
      metadata: { secret_expires_at: inDays(12), secret_expiring_raised_for: inDays(12) },
      events: [{ type: 'connection.secret_expiring', data: { secret_expires_at: inDays(12) } }],
      did: expect.any(String) as string,
    });
  });

  it('uses a 14-day window', () => {
    expect(SECRET_EXPIRING_WITHIN_MS).toBe(14 * DAY);
  });
});
