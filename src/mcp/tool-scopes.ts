import { type McpScope } from './protected-resource';

/** Each tool and the scope its caller's token must carry (SPEC §12). */
export const TOOL_SCOPES = {
  list_connections: 'connections:read',
  get_connection: 'connections:read',
  get_access_token: 'tokens:read',
  refresh_connection: 'connections:write',
} as const satisfies Record<string, McpScope>;

export type ToolName = keyof typeof TOOL_SCOPES;

function isToolName(name: unknown): name is ToolName {
  return typeof name === 'string' && Object.hasOwn(TOOL_SCOPES, name);
}

/**
 * The scopes the `tools/call` requests of a JSON-RPC body need (a batch may hold several),
 * read before the body reaches the MCP server: a missing scope must be an HTTP 403 with a
 * step-up challenge, which a tool result inside a 200 cannot be. Anything that is not a call
 * of a known tool needs nothing here (the SDK answers unknown tools and malformed messages).
 */
export function scopesCalledFor(body: unknown): McpScope[] {
  const messages: unknown[] = Array.isArray(body) ? body : [body];
  const scopes = new Set<McpScope>();
  for (const message of messages) {
    if (typeof message !== 'object' || message === null) continue;
    const { method, params } = message as { method?: unknown; params?: unknown };
    if (method !== 'tools/call' || typeof params !== 'object' || params === null) continue;
    const { name } = params as { name?: unknown };
    if (isToolName(name)) scopes.add(TOOL_SCOPES[name]);
  }
  return [...scopes];
}

export function missingScopes(
  granted: readonly string[],
  required: readonly McpScope[],
): McpScope[] {
  return required.filter((scope) => !granted.includes(scope));
}
