import { OAUTH_SCOPES } from '../../../src/identity/authorization-server/authorization-server';
import { MCP_SCOPES, bearerChallenge, metadataOf } from '../../../src/mcp/protected-resource';
import { missingScopes, scopesCalledFor } from '../../../src/mcp/tool-scopes';

const BROKER = 'https://broker.example.com';

describe('the protected resource of /mcp', () => {
  it('offers exactly the scopes the authorization server grants', () => {
    expect([...MCP_SCOPES]).toEqual([...OAUTH_SCOPES]);
  });

  it('names the broker as its authorization server and PUBLIC_URL/mcp as the resource', () => {
    expect(metadataOf(BROKER)).toEqual({
      resource: `${BROKER}/mcp`,
      authorization_servers: [BROKER],
      scopes_supported: ['connections:read', 'connections:write', 'tokens:read'],
      bearer_methods_supported: ['header'],
    });
  });

  it('challenges with the metadata URL, an error when a token was presented, the scope to step up to', () => {
    const metadata = `resource_metadata="${BROKER}/.well-known/oauth-protected-resource/mcp"`;
    expect(bearerChallenge(BROKER)).toBe(`Bearer ${metadata}`);
    expect(
      bearerChallenge(BROKER, { error: 'invalid_token', description: 'the token has "expired"' }),
    ).toBe(`Bearer error="invalid_token", error_description="the token has expired", ${metadata}`);
    expect(
      bearerChallenge(BROKER, {
        error: 'insufficient_scope',
        description: 'needs tokens:read',
        scope: ['tokens:read'],
      }),
    ).toBe(
      `Bearer error="insufficient_scope", error_description="needs tokens:read", scope="tokens:read", ${metadata}`,
    );
  });
});

describe('the scopes a JSON-RPC body calls for', () => {
  const call = (name: unknown) => ({
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/call',
    params: { name },
  });

  it('reads the tool of each tools/call, in a batch too', () => {
    expect(scopesCalledFor(call('get_access_token'))).toEqual(['tokens:read']);
    expect(scopesCalledFor(call('refresh_connection'))).toEqual(['connections:write']);
    expect(
      scopesCalledFor([call('list_connections'), call('get_connection'), call('get_access_token')]),
    ).toEqual(['connections:read', 'tokens:read']);
  });

  it('asks nothing of other methods, unknown tools and malformed bodies', () => {
    for (const body of [
      { jsonrpc: '2.0', id: 1, method: 'tools/list' },
      { jsonrpc: '2.0', id: 1, method: 'initialize', params: {} },
      call('no_such_tool'),
      call('__proto__'),
      call('toString'),
      call(42),
      { method: 'tools/call' },
      { method: 'tools/call', params: null },
      null,
      'tools/call',
      [null, 1],
    ]) {
      expect(scopesCalledFor(body)).toEqual([]);
    }
  });

  it('says which required scopes a token lacks', () => {
    expect(missingScopes(['connections:read'], ['connections:read', 'tokens:read'])).toEqual([
      'tokens:read',
    ]);
    expect(missingScopes(['tokens:read'], [])).toEqual([]);
  });
});
