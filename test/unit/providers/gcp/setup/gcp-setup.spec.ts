import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { chunk } from '../../../../../src/providers/gcp/setup/enable-apis.step';
import {
  GoogleApiError,
  toGoogleApiError,
  toStepError,
} from '../../../../../src/providers/gcp/setup/google-api-error';
import { withBindings } from '../../../../../src/providers/gcp/setup/iam-policy-editor';
import { serviceAccountId } from '../../../../../src/providers/gcp/setup/service-accounts.step';
import { toOpenSshEd25519 } from '../../../../../src/providers/tailscale/setup/tailscale-setup.steps';

describe('GCP setup pieces', () => {
  it('adds only missing unconditional bindings and keeps conditional ones', () => {
    const conditional = {
      role: 'roles/editor',
      members: ['user:x'],
      condition: { expression: 'true' },
    };
    const policy = {
      etag: 'e1',
      bindings: [conditional, { role: 'roles/viewer', members: ['serviceAccount:ro@p'] }],
    };
    const updated = withBindings(policy, [
      ['roles/editor', 'serviceAccount:rw@p'],
      ['roles/viewer', 'serviceAccount:ro@p'],
    ]);
    expect(updated).toEqual({
      etag: 'e1',
      version: 3,
      bindings: [
        conditional,
        { role: 'roles/viewer', members: ['serviceAccount:ro@p'] },
        { role: 'roles/editor', members: ['serviceAccount:rw@p'] },
      ],
    });
    expect(withBindings(updated ?? {}, [['roles/editor', 'serviceAccount:rw@p']])).toBeNull();
  });

  it('names service accounts from a hash of the user id, within Google’s 6–30 characters', () => {
    const rw = serviceAccountId('user-1', 'rw');
    expect(rw).toMatch(/^cbk-rw-[0-9a-f]{12}$/);
    expect(serviceAccountId('user-1', 'rw')).toBe(rw);
    expect(serviceAccountId('user-2', 'rw')).not.toBe(rw);
    expect(serviceAccountId('user-1', 'ro')).toBe(rw.replace('-rw-', '-ro-'));
  });

  it('batches at most 20 services per call', () => {
    expect(
      chunk(
        Array.from({ length: 41 }, (_, i) => i),
        20,
      ).map((c) => c.length),
    ).toEqual([20, 20, 1]);
  });

  it('maps Google failures: 403 final with roles, 5xx retried, conflicts recognised, no request kept', () => {
    const gaxios = (status: number, errStatus: string, message = '') => ({
      config: { headers: { Authorization: 'Bearer ya29.secret' } },
      response: { status, data: { error: { status: errStatus, message } } },
    });
    const denied = toStepError(
      toGoogleApiError(
        'x',
        gaxios(403, 'PERMISSION_DENIED', "Permission 'iam.roles.get' denied on resource"),
      ),
      'doing x',
      ['roles/a'],
    );
    expect(denied).toMatchObject({ code: 'gcp_permission_denied', retryable: false });
    expect(denied.detail).toBe(
      'Google denied doing x (iam.roles.get); the signed-in user needs roles/a',
    );
    expect(toStepError(gaxios(503, 'UNAVAILABLE'), 'x', [])).toMatchObject({
      code: 'gcp_unavailable',
      retryable: true,
    });
    expect(toStepError(gaxios(400, 'INVALID_ARGUMENT'), 'x', [])).toMatchObject({
      retryable: false,
    });
    const conflict = toGoogleApiError('set', gaxios(409, 'ABORTED'));
    expect(conflict).toBeInstanceOf(GoogleApiError);
    expect(conflict.conflict).toBe(true);
    expect(JSON.stringify(conflict) + conflict.message).not.toContain('ya29');
  });

  it('writes the public key in OpenSSH ssh-ed25519 form', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const x = publicKey.export({ format: 'jwk' }).x ?? '';
    const line = toOpenSshEd25519(x);
    const [type, b64] = line.split(' ');
    expect(type).toBe('ssh-ed25519');
    const blob = Buffer.from(b64, 'base64');
    expect(blob.readUInt32BE(0)).toBe(11);
    expect(blob.subarray(4, 15).toString()).toBe('ssh-ed25519');
    expect(blob.readUInt32BE(15)).toBe(32);
    const raw = blob.subarray(19);
    expect(raw).toHaveLength(32);
    const back = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
      format: 'jwk',
    });
    expect(back.export({ format: 'jwk' }).x).toBe(x);
  });
});
