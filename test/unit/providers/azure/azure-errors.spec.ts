import { BrokerError } from '../../../../src/common/error-codes';
import { aadstsCodes, classifyAzureError } from '../../../../src/providers/azure/azure-errors';
import { pickSubscription } from '../../../../src/providers/azure/azure-login.service';

/** How Entra ID failures are read, from the shapes @azure/identity and MSAL produce. */
describe('classifyAzureError', () => {
  const msal = (code: number, word = 'invalid_client') =>
    Object.assign(new Error(`${word}: Error(s): ${code} - Timestamp: x - Description: AADSTS${code}: text. Trace ID: t`), {
      name: 'AuthenticationRequiredError',
    }); // prettier-ignore

  it.each([7000215, 7000222, 700016])('AADSTS%i is invalid_credentials', (code) => {
    expect(classifyAzureError(msal(code))).toEqual({
      failure: 'invalid_credentials',
      aadsts: code,
    });
  });

  it.each([90002, 900023, 50128, 50059])('AADSTS%i is invalid_tenant', (code) => {
    expect(classifyAzureError(msal(code, 'invalid_request'))).toEqual({
      failure: 'invalid_tenant',
      aadsts: code,
    });
  });

  it('reads errorCodes from an AuthenticationError response and from a cause chain', () => {
    const authError = { statusCode: 401, errorResponse: { error: 'x', errorCodes: [7000222] } };
    expect(classifyAzureError(authError).failure).toBe('invalid_credentials');
    const wrapped = new Error('outer', { cause: { error_codes: ['90002'] } });
    expect(classifyAzureError(wrapped)).toEqual({ failure: 'invalid_tenant', aadsts: 90002 });
  });

  it('falls back to the OAuth error word when there is no code', () => {
    expect(classifyAzureError({ errorResponse: { error: 'invalid_client' } }).failure).toBe(
      'invalid_credentials',
    );
    expect(classifyAzureError({ errorResponse: { error: 'invalid_tenant' } }).failure).toBe(
      'invalid_tenant',
    );
  });

  it('calls everything else transient: throttling, outages, network errors, strangers', () => {
    expect(classifyAzureError(msal(90033, 'temporarily_unavailable'))).toEqual({
      failure: 'transient',
      aadsts: 90033,
    });
    expect(classifyAzureError(new Error('connect ECONNREFUSED 127.0.0.1:1')).failure).toBe(
      'transient',
    );
    expect(classifyAzureError(new Error('endpoints_resolution_error: see aka.ms')).failure).toBe(
      'transient',
    );
    expect(classifyAzureError(undefined).failure).toBe('transient');
    expect(classifyAzureError('AADSTS7000215').failure).toBe('transient');
  });

  it('collects every distinct code once', () => {
    expect(aadstsCodes({ message: 'AADSTS1 AADSTS2 AADSTS1', errorCodes: [2, 3] }).sort()).toEqual([
      1, 2, 3,
    ]);
  });
});

describe('pickSubscription', () => {
  const subs = [
    { subscriptionId: 'a', displayName: 'A', state: 'Disabled' },
    { subscriptionId: 'b', displayName: 'B', state: 'Warned' },
    { subscriptionId: 'c', displayName: 'C', state: 'Enabled' },
    { subscriptionId: 'd', displayName: 'D', state: 'Enabled' },
  ];
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      return err instanceof BrokerError ? err.code : 'other';
    }
    return 'none';
  };

  it('takes the first Enabled one, or the requested one when it is Enabled', () => {
    expect(pickSubscription(subs, undefined).subscriptionId).toBe('c');
    expect(pickSubscription(subs, 'd').subscriptionId).toBe('d');
  });

  it('refuses a requested one that is missing or not Enabled, and an empty choice', () => {
    expect(code(() => pickSubscription(subs, 'a'))).toBe('azure_subscription_not_found');
    expect(code(() => pickSubscription(subs, 'b'))).toBe('azure_subscription_not_found');
    expect(code(() => pickSubscription(subs, 'z'))).toBe('azure_subscription_not_found');
    expect(code(() => pickSubscription(subs.slice(0, 2), undefined))).toBe(
      'azure_no_enabled_subscription',
    );
    expect(code(() => pickSubscription([], undefined))).toBe('azure_no_enabled_subscription');
  });
});
