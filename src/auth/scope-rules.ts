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
