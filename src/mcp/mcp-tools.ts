import { Injectable, Logger } from '@nestjs/common';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { AuditService } from '../audit/audit.service';
import { BrokerError } from '../common/error-codes';
import { classifyError, toProblem } from '../common/problem';
import { ConnectionsService } from '../connections/connections.service';
import { isUuid, listConnectionsQuery } from '../connections/connections.schemas';
import { ManualRefresh } from '../connections/manual-refresh';
import { TokenService } from '../connections/token.service';
import { type McpCaller } from './mcp-authenticator';
import { TOOL_SCOPES, type ToolName, missingScopes } from './tool-scopes';

export const SERVER_INFO = { name: 'credential-broker', version: '0.1.0' };

const INSTRUCTIONS =
  'Tools over the cloud accounts the signed-in person connected to this credential broker: ' +
  'list and inspect connections, get a short-lived provider access token, refresh one now. ' +
  'Results are JSON; an error result holds a problem with a stable `code`.';

const connectionId = z
  .string()
  .min(1)
  .max(200)
  .describe('The connection id (a UUID, from list_connections)');

/**
 * The tools of /mcp (SPEC §12) over the same services as the HTTP API, so they keep its owner
 * rules (another user's id answers not_found), its refresh discipline and its presenters. One
 * server per request (the endpoint is stateless); every call is audited as `mcp.tool_call`.
 */
@Injectable()
export class McpTools {
  private readonly logger = new Logger(McpTools.name);

  constructor(
    private readonly connections: ConnectionsService,
    private readonly tokens: TokenService,
    private readonly manual: ManualRefresh,
    private readonly audit: AuditService,
  ) {}

  serverFor(caller: McpCaller, requestId: string): McpServer {
    const server = new McpServer(SERVER_INFO, {
      capabilities: { tools: {} },
      instructions: INSTRUCTIONS,
    });
    const call = <T>(tool: ToolName, id: string | undefined, run: () => Promise<T>) =>
      this.call(caller, requestId, tool, id, run);

    server.registerTool(
      'list_connections',
      {
        title: 'List connections',
        description:
          "The signed-in person's connected cloud accounts, newest first: metadata only (status, expiry, setup), no secrets. Needs connections:read.",
        inputSchema: {
          provider: listConnectionsQuery.shape.provider.describe('Only this provider'),
          status: listConnectionsQuery.shape.status.describe('Only connections in this status'),
          cursor: z.string().max(512).optional().describe('next_cursor of the previous page'),
          limit: z.number().int().min(1).max(100).optional().describe('Page size (default 20)'),
        },
        annotations: { readOnlyHint: true, openWorldHint: false },
      },
      (args) =>
        call('list_connections', undefined, () => {
          const query = listConnectionsQuery.safeParse({
            provider: args.provider,
            status: args.status,
            cursor: args.cursor,
            limit: args.limit?.toString(),
          });
          if (!query.success) {
            throw new BrokerError(
              'validation_failed',
              'cursor is not one list_connections returned',
            );
          }
          return this.connections.list(caller, query.data);
        }),
    );

    server.registerTool(
      'get_connection',
      {
        title: 'Get a connection',
        description: 'One connection by id: metadata only, no secrets. Needs connections:read.',
        inputSchema: { connection_id: connectionId },
        annotations: { readOnlyHint: true, openWorldHint: false },
      },
      ({ connection_id }) =>
        call('get_connection', connection_id, () => this.connections.get(caller, connection_id)),
    );

    server.registerTool(
      'get_access_token',
      {
        title: 'Get an access token',
        description:
          "A current short-lived access token of the connection's provider (refreshed first when it is about to expire): { access_token, token_type, expires_at, scope }. Needs tokens:read.",
        inputSchema: { connection_id: connectionId },
        annotations: { readOnlyHint: true, openWorldHint: true },
      },
      ({ connection_id }) =>
        call('get_access_token', connection_id, () =>
          this.tokens.read(caller, connection_id, requestId),
        ),
    );

    server.registerTool(
      'refresh_connection',
      {
        title: 'Refresh a connection',
        description:
          'Refreshes the access token now, even inside the refresh window: { expires_at, refreshed_at }. Needs connections:write.',
        inputSchema: { connection_id: connectionId },
        annotations: { readOnlyHint: false, idempotentHint: true, openWorldHint: true },
      },
      ({ connection_id }) =>
        call('refresh_connection', connection_id, async () => {
          const connection = await this.connections.findOwned(caller, connection_id);
          return this.manual.refreshNow(connection.id, caller, requestId);
        }),
    );
    return server;
  }

  /** Runs one tool: its scope (again: the HTTP layer checked it first), the work, the audit row. */
  private async call<T>(
    caller: McpCaller,
    requestId: string,
    tool: ToolName,
    id: string | undefined,
    run: () => Promise<T>,
  ): Promise<CallToolResult> {
    const audited = {
      actorType: 'user' as const,
      actorId: caller.userId,
      action: 'mcp.tool_call',
      // A caller's id is stored only when it has the shape of one (never arbitrary input).
      connectionId: id !== undefined && isUuid(id) ? id : null,
      requestId,
      details: { tool, client_id: caller.oauth.clientId },
    };
    try {
      const missing = missingScopes(caller.oauth.scopes, [TOOL_SCOPES[tool]]);
      if (missing.length > 0) {
        throw new BrokerError('forbidden', `this tool needs the scope ${missing.join(' and ')}`);
      }
      const value = await run();
      await this.audit.record({ ...audited, outcome: 'success' });
      return { content: [{ type: 'text', text: JSON.stringify(value) }] };
    } catch (err) {
      const classified = classifyError(err);
      if (classified.unexpected) this.logger.error({ err, tool }, 'MCP tool failed');
      await this.audit.record({ ...audited, outcome: 'failure', errorCode: classified.code });
      const retryAfter = classified.headers?.['retry-after'];
      const problem = {
        ...toProblem(classified, requestId),
        ...(retryAfter ? { retry_after_seconds: Number(retryAfter) } : {}),
      };
      return { isError: true, content: [{ type: 'text', text: JSON.stringify(problem) }] };
    }
  }
}
