import { type ApiKeyScope } from '../database/enums';

/** SPEC §3: reads need `connections:read`, everything else `connections:write`. */
export function defaultScopesFor(method: string): readonly ApiKeyScope[] {
  const m = method.toUpperCase();
  return m === 'GET' || m === 'HEAD' ? ['connections:read'] : ['connections:write'];
}

/** `admin` implies every scope; otherwise the key must hold each required scope. */
export function grantsScopes(
  held: readonly ApiKeyScope[],
  required: readonly ApiKeyScope[],
): boolean {
  if (held.includes('admin')) return true;
  return required.every((s) => held.includes(s));
}

/**
 * The scopes a token of the broker's own authorization server may carry (SPEC §11, §12): those
 * of an API key but `admin`, which is never handed out over OAuth. One list for the server, the
 * API's check of its tokens and the MCP endpoint's metadata.
 */
export const DELEGABLE_SCOPES = ['connections:read', 'connections:write', 'tokens:read'] as const;

export type DelegableScope = (typeof DELEGABLE_SCOPES)[number];

export function isDelegableScope(scope: string): scope is DelegableScope {
  return (DELEGABLE_SCOPES as readonly string[]).includes(scope);
}
