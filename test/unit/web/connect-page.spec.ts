import { type ConnectionView } from '../../../src/connections/connection.presenter';
import { type SetupView } from '../../../src/connections/setup.schemas';
import { type ConnectPageModel, renderConnectPage } from '../../../src/web/connect-page';
import { connectPageCsp, isConnectPath } from '../../../src/web/connect-csp';
import { parseAwsForm, parseAzureForm, parseTailscaleForm } from '../../../src/web/connect-forms';
import { parseForm, takesFormBodies } from '../../../src/web/form-body';

const HOSTILE = `<img src=x onerror="alert(1)">`;

function connection(over: Partial<ConnectionView> = {}): ConnectionView {
  return {
    id: '6f0c1d2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f',
    provider: 'gcp',
    account_ref: 'alice@example.com',
    display_name: 'alice@example.com',
    status: 'active',
    setup_status: 'succeeded',
    scopes: [],
    expires_at: '2026-12-02T10:30:00.000Z',
    last_refreshed_at: null,
    refresh_failures: 0,
    last_error_code: null,
    metadata: {},
    created_at: '2026-12-01T00:00:00.000Z',
    updated_at: '2026-12-01T00:00:00.000Z',
    ...over,
  };
}

function setup(over: Partial<SetupView> = {}): SetupView {
  return {
    status: 'succeeded',
    progress: 100,
    current_step: null,
    steps: [{ name: 'list_projects', status: 'succeeded' }],
    attempts: 1,
    updated_at: null,
    finished_at: null,
    ...over,
  };
}

function model(over: Partial<ConnectPageModel> = {}): ConnectPageModel {
  return {
    user: { label: 'Alice' },
    login: { enabled: true, providers: ['github', 'entra', 'oidc'] },
    connections: [],
    enabled: { gcp: true, ovhRegions: ['eu', 'ca'], azure: true, tailscale: true, aws: false },
    ...over,
  };
}

const page = (m: ConnectPageModel) => renderConnectPage(m).value;

describe('connect page rendering', () => {
  it('escapes a hostile display name and account everywhere, aria-labels included', () => {
    const out = page(
      model({
        connections: [
          {
            connection: connection({ display_name: HOSTILE, account_ref: HOSTILE }),
            setup: setup(),
          },
        ],
      }),
    );
    expect(out).not.toContain('<img');
    expect(out).toContain('&lt;img src=x onerror=&quot;alert(1)&quot;&gt;');
    expect(out).toContain(`aria-label="Disconnect Google Cloud &lt;img`);
  });

  it('says each status in words and shows the expiry as <time datetime>', () => {
    const rows = (['active', 'refresh_failing', 'needs_reauth', 'revoked'] as const).map((s) => ({
      connection: connection({ status: s, id: `6f0c1d2e-3b4a-4c5d-8e9f-0a1b2c3d4e5${s.length}` }),
    }));
    const out = page(model({ connections: rows }));
    for (const words of [
      'Active',
      'Refresh failing (retrying)',
      'Needs to be connected again',
      'Revoked',
    ])
      expect(out).toContain(words);
    expect(out).toContain('<time datetime="2026-12-02T10:30:00.000Z">2026-12-02 10:30 UTC</time>');
  });

  it('names every button after its connection and offers no action on a revoked one', () => {
    const out = page(
      model({
        connections: [
          { connection: connection(), setup: setup() },
          {
            connection: connection({
              id: '7f0c1d2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f',
              provider: 'tailscale',
              account_ref: 'example.com',
              display_name: null,
              status: 'revoked',
            }),
          },
        ],
      }),
    );
    expect(out).toContain('aria-label="Refresh Google Cloud alice@example.com"');
    expect(out).toContain('aria-label="Retry setup of Google Cloud alice@example.com"');
    expect(out).toContain('aria-label="Disconnect Google Cloud alice@example.com"');
    expect(out).not.toContain('Disconnect Tailscale example.com');
  });

  it('renders the eligible projects as project_ids checkboxes when setup needs a selection', () => {
    const out = page(
      model({
        connections: [
          {
            connection: connection({ setup_status: 'needs_selection' }),
            setup: setup({
              status: 'needs_selection',
              progress: 20,
              eligible_projects: [
                { project_id: 'alpha-one', name: 'Alpha <one>', billing_enabled: true },
                { project_id: 'beta-two', name: 'Beta', billing_enabled: false },
              ],
            }),
          },
        ],
      }),
    );
    expect(out).toContain('Waiting for you to choose projects');
    expect(out).toMatch(/<input\s+type="checkbox"\s+name="project_ids"\s+value="alpha-one"/);
    expect(out).toMatch(/name="project_ids"\s+value="beta-two"/);
    expect(out).toContain('Alpha &lt;one&gt;');
    expect(out).toContain('Projects to set up for Google Cloud alice@example.com');
    expect(out).toContain(
      'aria-label="Set up the chosen projects of Google Cloud alice@example.com"',
    );
  });

  it('polls only a running setup, with a labelled progress bar and no inline script or style', () => {
    const out = page(
      model({
        connections: [
          {
            connection: connection({ setup_status: 'running' }),
            setup: setup({ status: 'running', progress: 40 }),
          },
        ],
      }),
    );
    expect(out).toContain(
      'data-setup-url="/connections/6f0c1d2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f/setup"',
    );
    expect(out).toMatch(
      /<progress\s+max="100"\s+value="40"\s+aria-label="Setup progress of Google Cloud alice@example.com"/,
    );
    expect(out).not.toMatch(/<script>|<style|style=|\son[a-z]+=/);
  });

  it('signed out: the sign-in links; sign-in off: how to turn it on', () => {
    const out = page(model({ user: null }));
    expect(out).toContain('href="/auth/login?provider=github&amp;redirect_to=%2Fconnect"');
    expect(out).toContain('Sign in with GitHub');
    expect(out).toContain('Sign in with Microsoft');
    expect(out).toContain('Sign in with single sign-on');
    expect(out).not.toContain('Connect Azure');
    const off = page(model({ user: null, login: { enabled: false, providers: [] } }));
    expect(off).toContain('Sign-in is not configured');
    expect(off).toContain('LOGIN_PROVIDERS');
  });

  it('shows only enabled providers and regions, the alert, the notice and the claim form', () => {
    const out = page(
      model({
        enabled: { gcp: false, ovhRegions: ['us'], azure: true, tailscale: true, aws: false },
        alert: 'Azure rejected it',
        notice: 'Done.',
        claim: { code: 'c'.repeat(43), provider: 'gcp' },
      }),
    );
    expect(out).not.toContain('Connect Google Cloud');
    expect(out).toContain('<option value="us">');
    expect(out).not.toContain('value="eu"');
    expect(out).toContain('role="alert">Azure rejected it</div>');
    expect(out).toMatch(/role="status"\s+aria-live="polite">Done.<\/div>/);
    expect(out).toContain(`name="claim" value="${'c'.repeat(43)}"`);
    expect(out).toContain('Finish connecting');
  });

  it('puts a failed form back with field errors (aria-describedby) but never the secret', () => {
    const parsed = parseAzureForm({
      tenant_id: 'not a tenant',
      client_id: 'x',
      client_secret: 'azs~very-secret',
      subscription_id: '',
    });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    const out = page(model({ forms: { azure: parsed.state } }));
    expect(out).not.toContain('azs~very-secret');
    expect(out).toContain('value="not a tenant"');
    expect(out).toMatch(/id="azure-tenant-id-error"/);
    expect(out).toMatch(/aria-describedby="azure-tenant-id-hint azure-tenant-id-error"/);
    expect(out).toMatch(/id="azure-client-secret"[^>]*type="password"[^>]*value=""/);
    expect(Object.keys(parsed.state.errors).sort()).toEqual(['client_id', 'tenant_id']);
  });
});

describe('the AWS section', () => {
  const aws = {
    externalId: 'cbk-0123456789abcdef0123456789abcdef',
    principalArn: 'arn:aws:iam::111111111111:role/broker',
    trustPolicy: '{\n  "Version": "2012-10-17"\n}',
  };

  it('shows the external id, the principal and the policy in a <pre>, only when AWS is on', () => {
    const on = page(model({ enabled: { ...model().enabled, aws: true }, aws }));
    expect(on).toContain('Connect AWS');
    expect(on).toContain('<code id="aws-external-id">cbk-0123456789abcdef0123456789abcdef</code>');
    expect(on).toContain('arn:aws:iam::111111111111:role/broker');
    expect(on).toMatch(
      /<pre class="policy"[^>]*>\n?\{\n {2}&quot;Version&quot;: &quot;2012-10-17&quot;\n\}<\/pre>/,
    );
    expect(on).toContain('action="/connect/aws"');
    expect(on).not.toMatch(/<script>|onclick=|style=/);
    expect(page(model({ aws }))).not.toContain('Connect AWS');
  });

  it('parses the AWS form: an empty optional field is not given, digits are a number', () => {
    const role_arn = 'arn:aws:iam::123456789012:role/deploy';
    expect(parseAwsForm({ role_arn, region: '', session_duration_seconds: '' })).toEqual({ ok: true, value: { role_arn } }); // prettier-ignore
    expect(parseAwsForm({ role_arn, session_duration_seconds: '7200' })).toEqual({ ok: true, value: { role_arn, session_duration_seconds: 7200 } }); // prettier-ignore
    const bad = parseAwsForm({ role_arn: 'deploy', session_duration_seconds: '12h' });
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(Object.keys(bad.state.errors).sort()).toEqual(['role_arn', 'session_duration_seconds']);
    expect(bad.state.values).toEqual({ role_arn: 'deploy', session_duration_seconds: '12h' });
  });
});

describe('connect forms and policy', () => {
  it('parses form bodies, repeated names as lists, and drops __proto__', () => {
    const form = parseForm('project_ids=a&project_ids=b&x=1&__proto__=p');
    expect(form).toEqual({ project_ids: ['a', 'b'], x: '1' });
    expect(Object.getPrototypeOf(form)).toBe(Object.prototype);
  });

  it('treats empty optional fields as not given', () => {
    const parsed = parseTailscaleForm({ client_id: 'kAbc', client_secret: 'tskey-x', tailnet: '' });
    expect(parsed).toEqual({
      ok: true,
      value: { client_id: 'kAbc', client_secret: 'tskey-x', tailnet: '-' },
    });
  });

  it('matches /connect and below only, not /connections', () => {
    expect(isConnectPath('/connect')).toBe(true);
    expect(isConnectPath('/connect?x=1')).toBe(true);
    expect(isConnectPath('/connect/azure')).toBe(true);
    expect(isConnectPath('/connections')).toBe(false);
    expect(isConnectPath('/connectx')).toBe(false);
  });

  it("allows form posts to the enabled providers' consent origins only", () => {
    const region = (enabled: boolean, authUrl: string) => ({ enabled, authUrl, apiUrl: '' });
    const csp = connectPageCsp({
      gcp: { enabled: true, authUrl: 'https://accounts.google.com/o/oauth2/v2/auth' },
      ovh: {
        enabled: true,
        regions: {
          eu: region(true, 'https://www.ovh.com/auth/oauth2/authorize'),
          ca: region(false, 'https://ca.ovh.com/auth/oauth2/authorize'),
          us: region(false, 'https://us.ovhcloud.com/auth/oauth2/authorize'),
        },
      },
    } as unknown as Parameters<typeof connectPageCsp>[0]);
    expect(csp).toContain("form-action 'self' https://accounts.google.com https://www.ovh.com;");
    expect(csp).toContain("script-src 'self'; style-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'; base-uri 'none'");
  });
});

describe('which routes take form bodies', () => {
  it("takes them on the broker's pages only: the connect page and the consent page's forms", () => {
    expect(takesFormBodies('/connect/gcp')).toBe(true);
    expect(takesFormBodies('/oauth/interaction/abc/confirm')).toBe(true);
    expect(takesFormBodies('/oauth/interaction/abc/abort')).toBe(true);
    expect(takesFormBodies('/connections')).toBe(false);
    expect(takesFormBodies('/mcp')).toBe(false);
    expect(takesFormBodies('/oauth/token')).toBe(false);
  });
});
