import { z } from 'zod';
import { DELEGABLE_SCOPES, type DelegableScope } from '../auth/scope-rules';
import { responseSchema } from '../openapi/contract';

/** Where the MCP endpoint lives; its URL is also the audience its tokens carry (RFC 8707). */
export const MCP_PATH = '/mcp';

/** RFC 9728 §3.1: the metadata of `PUBLIC_URL/mcp` is found at this path (and at the bare one). */
export const RESOURCE_METADATA_PATH = '/.well-known/oauth-protected-resource/mcp';
export const ROOT_RESOURCE_METADATA_PATH = '/.well-known/oauth-protected-resource';

/** The scopes a broker token may carry (SPEC §3, §11): the authorization server's own list. */
export const MCP_SCOPES = DELEGABLE_SCOPES;
export type McpScope = DelegableScope;

export function mcpResource(publicUrl: string): string {
  return `${publicUrl}${MCP_PATH}`;
}

export function resourceMetadataUrl(publicUrl: string): string {
  return `${publicUrl}${RESOURCE_METADATA_PATH}`;
}

export const protectedResourceMetadata = responseSchema(
  'ProtectedResourceMetadata',
  z.object({
    resource: z.string().describe('PUBLIC_URL/mcp: the audience of the tokens /mcp accepts'),
    authorization_servers: z.array(z.string()).describe('The broker itself (PUBLIC_URL)'),
    scopes_supported: z.array(z.enum(MCP_SCOPES)),
    bearer_methods_supported: z.array(z.literal('header')),
  }),
);

export type ProtectedResourceMetadata = z.output<typeof protectedResourceMetadata>;

/** RFC 9728 §2: what an MCP client reads to find the authorization server of /mcp. */
export function metadataOf(publicUrl: string): ProtectedResourceMetadata {
  return {
    resource: mcpResource(publicUrl),
    authorization_servers: [publicUrl],
    scopes_supported: [...MCP_SCOPES],
    bearer_methods_supported: ['header'],
  };
}

export type BearerError =
  | { error: 'invalid_token'; description: string }
  | { error: 'insufficient_scope'; description: string; scope: readonly string[] };

/**
 * The `WWW-Authenticate` challenge of /mcp (RFC 6750 §3, RFC 9728 §5.1): always the metadata
 * URL, so a client that has no token yet discovers the authorization server from the 401; an
 * error (and for a step-up the scope wanted) when a token was presented. The descriptions are
 * the broker's own fixed words, never the caller's input, so they need no escaping beyond this.
 */
export function bearerChallenge(publicUrl: string, problem?: BearerError): string {
  const params: string[] = [];
  if (problem) {
    params.push(`error="${problem.error}"`);
    params.push(`error_description="${problem.description.replace(/["\\]/g, '')}"`);
    if (problem.error === 'insufficient_scope') params.push(`scope="${problem.scope.join(' ')}"`);
  }
  params.push(`resource_metadata="${resourceMetadataUrl(publicUrl)}"`);
  return `Bearer ${params.join(', ')}`;
}
