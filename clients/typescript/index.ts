import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { components, operations, paths } from './schema';

export type { components, operations, paths };

/** The shapes of the broker's API, by their OpenAPI component names. */
export type Connection = components['schemas']['Connection'];
export type ConnectionPage = components['schemas']['ConnectionPage'];
export type AccessToken = components['schemas']['AccessToken'];
export type SetupRun = components['schemas']['SetupRun'];
export type Problem = components['schemas']['Problem'];

export interface BrokerClientOptions extends Omit<ClientOptions, 'baseUrl'> {
  /** The broker's base URL, e.g. `https://broker.example.com`. */
  baseUrl: string;
  /** A user JWT, a broker access token or an API key (`cbk_…`). */
  token?: string;
  /** With an API key: the user the call acts for (`X-On-Behalf-Of`). */
  onBehalfOf?: string;
}

/**
 * A typed client of the broker's HTTP API, generated from `openapi.json`
 * (`npm run openapi` regenerates `schema.d.ts`). Every path, parameter and body is checked by the
 * compiler; errors come back as `application/problem+json` in `error`.
 */
export function createBrokerClient(options: BrokerClientOptions): Client<paths> {
  const { token, onBehalfOf, headers, ...rest } = options;
  return createClient<paths>({
    ...rest,
    headers: {
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...(onBehalfOf ? { 'X-On-Behalf-Of': onBehalfOf } : {}),
      ...(headers as Record<string, string> | undefined),
    },
  });
}
