import { Inject, Injectable } from '@nestjs/common';
import { type Caller } from '../auth/caller';
import { BrokerError } from '../common/error-codes';
import { classifyError } from '../common/problem';
import { APP_CONFIG, type AppConfig, OVH_REGIONS } from '../config/config';
import { ConnectionsService } from '../connections/connections.service';
import { SetupService } from '../connections/setup.service';
import { AwsConnectService } from '../providers/aws/aws-connect.service';
import {
  type AwsSection,
  type ConnectPageModel,
  type ConnectionRow,
  type FormState,
} from './connect-page';
import { type LandingQuery } from './connect-forms';
import {
  CALLBACK_ERROR_MESSAGES,
  ERROR_MESSAGES,
  LOGIN_ERROR_MESSAGES,
  NOTICES,
  PROVIDER_NAMES,
  UNKNOWN_CODE_MESSAGE,
  isNotice,
} from './messages';

/** A person signed in to the broker: the only caller the connect page acts for. */
export type PersonCaller = Extract<Caller, { kind: 'user' }>;

export function personOf(caller: Caller | undefined): PersonCaller | null {
  return caller?.kind === 'user' ? caller : null;
}

/** The POST routes: an API key or admin Basic session has no page to come from. */
export function requirePerson(caller: Caller): PersonCaller {
  const person = personOf(caller);
  if (!person) throw new BrokerError('forbidden', 'The connect page is for people who sign in');
  return person;
}

/** The words for an error the page shows: the table by code, else the error's own detail. */
export function errorMessage(err: unknown): string {
  const c = classifyError(err);
  return ERROR_MESSAGES[c.code] ?? c.detail;
}

/** What the page draws, from the caller, the query of a landing and a form's outcome. */
@Injectable()
export class ConnectPageService {
  constructor(
    private readonly connections: ConnectionsService,
    private readonly setup: SetupService,
    private readonly aws: AwsConnectService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async model(
    caller: Caller | undefined,
    extra: {
      query?: LandingQuery;
      alert?: string;
      forms?: { azure?: FormState; tailscale?: FormState; aws?: FormState };
    } = {},
  ): Promise<ConnectPageModel> {
    const person = personOf(caller);
    const landing = extra.query ? this.landing(extra.query, person !== null) : {};
    return {
      user: person ? { label: labelOf(person) } : null,
      login: {
        enabled: this.config.login.enabled,
        providers: this.config.login.providers.map((p) => p.kind),
      },
      connections: person ? await this.rows(person) : [],
      enabled: {
        gcp: this.config.gcp.enabled,
        ovhRegions: this.config.ovh.enabled
          ? OVH_REGIONS.filter((r) => this.config.ovh.regions[r].enabled)
          : [],
        azure: this.config.azure.enabled,
        tailscale: this.config.tailscale.enabled,
        aws: this.config.aws.enabled,
      },
      ...(person && this.config.aws.enabled ? { aws: await this.awsSection(person) } : {}),
      ...landing,
      ...(extra.alert ? { alert: extra.alert } : {}),
      ...(extra.forms ? { forms: extra.forms } : {}),
    };
  }

  /** What the user pastes into their role: their external id, the principal, the policy. */
  private async awsSection(person: PersonCaller): Promise<AwsSection> {
    try {
      const view = await this.aws.externalId(person.userId);
      return {
        externalId: view.external_id,
        principalArn: view.broker_principal_arn,
        trustPolicy: JSON.stringify(view.trust_policy, null, 2),
      };
    } catch (err) {
      return { unavailable: errorMessage(err) };
    }
  }

  private async rows(person: PersonCaller): Promise<ConnectionRow[]> {
    const page = await this.connections.list(person, { limit: 100 });
    return Promise.all(
      page.items.map(async (connection): Promise<ConnectionRow> => {
        if (connection.status === 'revoked' || connection.setup_status === 'not_applicable') {
          return { connection };
        }
        return { connection, setup: await this.setup.get(person, connection.id) };
      }),
    );
  }

  /** The outcome a redirect brought: a notice, an error in words, or a claim to finish. */
  private landing(
    q: LandingQuery,
    signedIn: boolean,
  ): Pick<ConnectPageModel, 'notice' | 'alert' | 'claim'> {
    if (q.login === 'error') {
      return { alert: (q.code && LOGIN_ERROR_MESSAGES[q.code]) || UNKNOWN_CODE_MESSAGE };
    }
    const provider = q.provider === 'gcp' || q.provider === 'ovh' ? q.provider : undefined;
    if (provider && q.status === 'error') {
      const why = (q.code && CALLBACK_ERROR_MESSAGES[q.code]) || UNKNOWN_CODE_MESSAGE;
      return { alert: `${PROVIDER_NAMES[provider]} was not connected. ${why}` };
    }
    if (provider && q.status === 'connected') {
      return { notice: `${PROVIDER_NAMES[provider]} is connected.` };
    }
    if (provider && q.status === 'claim' && q.claim) {
      return signedIn
        ? { claim: { code: q.claim, provider } }
        : { alert: 'Sign in, then connect the account again: the consent must be finished by whoever started it.' }; // prettier-ignore
    }
    if (isNotice(q.notice)) return { notice: NOTICES[q.notice] };
    return {};
  }
}

function labelOf(person: PersonCaller): string {
  const s = person.session;
  return s?.name ?? s?.email ?? s?.username ?? person.userId;
}
