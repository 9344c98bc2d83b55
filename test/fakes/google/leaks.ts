import { type BrokerHarness } from '../../support/broker';
import { type FakeGoogle } from './fake-google';

/**
 * Where a secret the Google emulator handed out was found outside Vault: Postgres (every table),
 * the processes' logs, Redis (everything under the broker's prefix) and the API answers a test
 * collected. Codes, PKCE verifiers, id_tokens and the client secret are searched too, and must
 * not be in Vault either. Returns one line per leak, for a readable failure.
 */
export async function findLeaks(
  broker: BrokerHarness,
  google: FakeGoogle,
  answers: string[],
): Promise<string[]> {
  const places = await broker.placesOutsideVault(answers);
  const vault = JSON.stringify(broker.vault.values());
  const { access, refresh, id, codes } = google.grants.issued;
  const verifiers = google.calls.map((c) => c.form.code_verifier).filter(Boolean);
  const neverKept = [...id, ...codes, ...verifiers, google.clientSecret];
  const leaks: string[] = [];
  for (const secret of [...access, ...refresh, ...neverKept]) {
    for (const [where, text] of Object.entries(places)) {
      if (text.includes(secret)) leaks.push(`${secret.slice(0, 10)}… in ${where}`);
    }
  }
  for (const secret of neverKept) {
    if (vault.includes(secret)) leaks.push(`${secret.slice(0, 10)}… in vault`);
  }
  return leaks;
}

/**
 * Waits until a process log matches: a child writes its log line on its own schedule, possibly
 * after the HTTP answer the test already has. Returns the log for further assertions.
 */
export async function untilLogged(
  read: () => string,
  pattern: string | RegExp,
  timeoutMs = 3_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = read();
    if (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`no log line matching ${String(pattern)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every refresh token Google issued is either kept in Vault or revoked at Google. */
export function droppedGrantsStillLive(broker: BrokerHarness, google: FakeGoogle): string[] {
  const stored = JSON.stringify(broker.vault.values());
  return google.grants.issued.refresh
    .filter((rt) => !stored.includes(rt) && google.grants.refreshTokens.get(rt)?.revoked !== true)
    .map((rt) => `${rt.slice(0, 10)}… dropped but still live`);
}
