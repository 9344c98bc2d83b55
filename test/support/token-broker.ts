import { type FakeGoogle, startFakeGoogle } from '../fakes/google/fake-google';
import { BrokerHarness } from './broker';

export interface TokenBroker {
  google: FakeGoogle;
  broker: BrokerHarness;
  /** A user token for `alice`, who owns the seeded connections. */
  alice: string;
}

/**
 * What each lifecycle-token spec runs against: the Google emulator and one built api with a
 * 300 s refresh window and no worker, so every refresh there is caused by a request.
 */
export async function startTokenBroker(): Promise<TokenBroker> {
  const google = await startFakeGoogle();
  try {
    const broker = await BrokerHarness.start({
      env: { ...google.env(), REFRESH_WINDOW_SECONDS: '300' },
    });
    return { google, broker, alice: await broker.userToken('alice') };
  } catch (err) {
    await google.close();
    throw err;
  }
}

/**
 * Proves that no secret the Google emulator issued during the file reached the api's logs,
 * Postgres or Redis, then stops everything (also when that check fails).
 */
export async function closeTokenBroker(
  broker: BrokerHarness | undefined,
  google: FakeGoogle | undefined,
): Promise<void> {
  try {
    if (broker && google) await expectNoGoogleSecretsOutsideVault(broker, google);
  } finally {
    await broker?.close();
    await google?.close();
  }
}

export async function expectNoGoogleSecretsOutsideVault(
  broker: BrokerHarness,
  google: FakeGoogle,
): Promise<void> {
  const places = [broker.logs(), await broker.dumpDatabase(), await broker.dumpRedis()];
  for (const secret of google.grants.allSecrets()) {
    for (const place of places) expect(place).not.toContain(secret);
  }
}
