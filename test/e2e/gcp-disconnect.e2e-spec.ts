import { type FakeGoogle, startFakeGoogle } from '../fakes/google/fake-google';
import { connectAndClaimGcp } from '../fakes/google/browser';
import { findLeaks, untilLogged } from '../fakes/google/leaks';
import { BrokerHarness } from '../support/broker';

/**
 * DELETE /connections/:id for GCP: Google's revoke endpoint gets the refresh token, the Vault
 * secret is destroyed (every version), the row becomes `revoked`; a failed revoke is logged and
 * audited and the local deletion happens anyway.
 */
describe('GCP disconnect (e2e)', () => {
  let google: FakeGoogle;
  let broker: BrokerHarness;
  let n = 0;

  beforeAll(async () => {
    google = await startFakeGoogle();
    broker = await BrokerHarness.start({ env: google.env() });
  });
  afterAll(async () => {
    await broker.close();
    await google.close();
  });
  afterEach(() => google.clearFaults());

  /** A fresh user with one GCP connection (reconnected `times` times); its id and refresh token. */
  async function connectedUser(times = 1) {
    const user = `user-${++n}`;
    google.account = { sub: `1048576000000000${n}`, email: `${user}@example.com` };
    const token = await broker.userToken(user);
    let id = '';
    for (let i = 0; i < times; i++) {
      id = (await connectAndClaimGcp(broker, token)).connectionId;
    }
    return { token, id, refreshToken: google.grants.issued.refresh.at(-1) as string };
  }
  const vaultVersions = (id: string) =>
    broker.vault.values().filter((v) => v.path.endsWith(`connections/${id}`));
  const revokes = () => google.calls.filter((c) => c.path === '/revoke');
  async function auditOf(id: string) {
    return broker.dataSource.query<
      { action: string; outcome: string; error_code: string | null }[]
    >(
      `SELECT action, outcome, error_code FROM audit_events WHERE connection_id = $1 ORDER BY occurred_at`,
      [id],
    );
  }

  it('revokes the refresh token at Google, destroys every Vault version, marks the row revoked → 204', async () => {
    const { token, id, refreshToken } = await connectedUser(2);
    expect(vaultVersions(id)).toHaveLength(2);
    const before = revokes().length;
    const res = await broker.request(`/connections/${id}`, { method: 'DELETE', token });
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    const calls = revokes().slice(before);
    expect(calls).toHaveLength(1);
    expect(calls[0].form).toEqual({ token: refreshToken });
    expect(calls[0].query).toEqual({}); // the token travels in the body, never in a URL
    expect(calls[0].status).toBe(200);
    expect(vaultVersions(id)).toEqual([]);
    const row = await broker.request(`/connections/${id}`, { token });
    expect((row.body as { status: string }).status).toBe('revoked');
    expect(await auditOf(id)).toContainEqual({
      action: 'connection.deleted',
      outcome: 'success',
      error_code: null,
    });
    // Google agrees the grant is dead.
    expect(google.grants.refreshTokens.get(refreshToken)?.revoked).toBe(true);
  });

  it('reconnects after a disconnect on a fresh secret path, so no old version or setup job is reused', async () => {
    const { token, id } = await connectedUser();
    expect((await broker.request(`/connections/${id}`, { method: 'DELETE', token })).status).toBe(
      204,
    );
    const { out, claim } = await connectAndClaimGcp(broker, token);
    expect(out).toMatchObject({ status: 'claim', connection_id: id });
    expect(claim.status).toBe(200);
    const [row] = await broker.dataSource.query<
      { vault_path: string; vault_version: number; status: string }[]
    >('SELECT vault_path, vault_version, status FROM connections WHERE id = $1', [id]);
    expect(row.status).toBe('active');
    expect(row.vault_path).toMatch(new RegExp(`^connections/${id}/[a-z0-9]+$`));
    expect(row.vault_version).toBe(1);
    // The new grant is what the token route serves.
    const issued = google.grants.issued.access.at(-1);
    const res = await broker.request(`/connections/${id}/token`, { token });
    expect((res.body as { access_token: string }).access_token).toBe(issued);
    // And a second delete destroys the new path too.
    expect((await broker.request(`/connections/${id}`, { method: 'DELETE', token })).status).toBe(
      204,
    );
    expect(broker.vault.values().filter((v) => v.path.includes(`connections/${id}`))).toEqual([]);
  });

  it('answers a second DELETE with 204 and calls Google no more', async () => {
    const { token, id } = await connectedUser();
    expect((await broker.request(`/connections/${id}`, { method: 'DELETE', token })).status).toBe(
      204,
    );
    const before = revokes().length;
    expect((await broker.request(`/connections/${id}`, { method: 'DELETE', token })).status).toBe(
      204,
    );
    expect(revokes().length).toBe(before);
  });

  it('deletes locally when Google fails the revoke, and audits and logs the failure', async () => {
    const { token, id } = await connectedUser();
    google.failRevoke(503, 10);
    const res = await broker.request(`/connections/${id}`, { method: 'DELETE', token });
    expect(res.status).toBe(204);
    expect(vaultVersions(id)).toEqual([]);
    expect(
      ((await broker.request(`/connections/${id}`, { token })).body as { status: string }).status,
    ).toBe('revoked');
    const audit = await auditOf(id);
    expect(audit).toContainEqual({
      action: 'connection.revoke_upstream',
      outcome: 'failure',
      error_code: 'upstream_unavailable',
    });
    expect(audit).toContainEqual({
      action: 'connection.deleted',
      outcome: 'success',
      error_code: null,
    });
    await untilLogged(() => broker.logs(), 'upstream revoke failed; deleting locally anyway');
  });

  it('treats a grant the user already revoked at Google as revoked (no failure recorded)', async () => {
    const { token, id, refreshToken } = await connectedUser();
    const grant = google.grants.refreshTokens.get(refreshToken);
    if (grant) grant.revoked = true; // the user removed the app in their Google account
    expect((await broker.request(`/connections/${id}`, { method: 'DELETE', token })).status).toBe(
      204,
    );
    expect(revokes().at(-1)?.status).toBe(400);
    expect((await auditOf(id)).map((a) => a.action)).not.toContain('connection.revoke_upstream');
  });

  it('keeps the connection untouched (503) when the secret store is down, so the DELETE can be repeated', async () => {
    const { token, id } = await connectedUser();
    broker.vault.seal();
    try {
      const res = await broker.request(`/connections/${id}`, { method: 'DELETE', token });
      expect(res.status).toBe(503);
      expect((res.body as { code: string }).code).toBe('secret_store_unavailable');
    } finally {
      broker.vault.unseal();
    }
    expect(
      ((await broker.request(`/connections/${id}`, { token })).body as { status: string }).status,
    ).toBe('active');
    expect(vaultVersions(id)).toHaveLength(1);
    expect((await broker.request(`/connections/${id}`, { method: 'DELETE', token })).status).toBe(
      204,
    );
  });

  it("refuses another user's DELETE with 404 and a read-only key with 403, leaving the connection be", async () => {
    const { token, id } = await connectedUser();
    const other = await broker.userToken('someone-else');
    expect(
      (await broker.request(`/connections/${id}`, { method: 'DELETE', token: other })).status,
    ).toBe(404);
    const reader = await broker.apiKey(['connections:read']);
    expect(
      (await broker.request(`/connections/${id}`, { method: 'DELETE', token: reader })).status,
    ).toBe(403);
    const forOther = await broker.apiKey(['connections:write']);
    const wrongUser = await broker.request(`/connections/${id}`, {
      method: 'DELETE',
      token: forOther,
      headers: { 'X-On-Behalf-Of': 'someone-else' },
    });
    expect(wrongUser.status).toBe(404);
    expect(vaultVersions(id)).toHaveLength(1);
    expect(
      ((await broker.request(`/connections/${id}`, { token })).body as { status: string }).status,
    ).toBe('active');
  });

  it('leaves no token behind outside Vault after all these deletions', async () => {
    expect(google.grants.issued.refresh.length).toBeGreaterThan(5);
    expect(await findLeaks(broker, google, [])).toEqual([]);
  });
});
