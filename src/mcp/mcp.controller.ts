import { Controller, Delete, Get, HttpCode, Logger, Post, Req, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiExcludeEndpoint,
  ApiOperation,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { type FastifyReply, type FastifyRequest } from 'fastify';
import { Public } from '../auth/decorators';
import { BrokerError } from '../common/error-codes';
import { PROBLEM_CONTENT_TYPE, classifyError, toProblem } from '../common/problem';
import { schemaRef } from '../openapi/contract';
import { problemResponses, problemSchema } from '../openapi/schemas';
import { McpAuthenticator } from './mcp-authenticator';
import { McpTools } from './mcp-tools';
import { mcpMessage } from './mcp.schemas';
import { MCP_PATH } from './protected-resource';
import { scopesCalledFor, missingScopes } from './tool-scopes';

/**
 * The MCP endpoint (SPEC §12): Streamable HTTP, stateless — a new server and transport per POST,
 * as the SDK's `simpleStatelessStreamableHttp` example does, so any replica answers any request
 * and nothing is kept between them.
 *
 * `@Public()` only takes the route away from the global guard, whose 401 lacks the RFC 9728
 * challenge and which would take the session cookie: every method here authenticates first
 * (McpAuthenticator) and answers 401 without a token of the MCP audience.
 */
@ApiTags('mcp')
@ApiBearerAuth()
@Public()
@Controller(MCP_PATH.slice(1))
export class McpController {
  private readonly logger = new Logger(McpController.name);

  constructor(
    private readonly auth: McpAuthenticator,
    private readonly tools: McpTools,
  ) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    operationId: 'mcp',
    summary: 'The MCP endpoint (Streamable HTTP, stateless): JSON-RPC messages of MCP',
    description:
      'Needs an access token of the broker whose audience is PUBLIC_URL/mcp (see /.well-known/oauth-protected-resource/mcp). ' +
      'Tools: list_connections, get_connection (connections:read), get_access_token (tokens:read), refresh_connection (connections:write). ' +
      'A tool call without its scope answers 403 with `WWW-Authenticate: Bearer error="insufficient_scope", scope="…"`.',
  })
  @ApiBody({ schema: schemaRef(mcpMessage) })
  @ApiResponse({ status: 200, description: 'The JSON-RPC response (application/json)' })
  @problemResponses(401)
  @ApiResponse({
    status: 403,
    description:
      'insufficient_scope: the token lacks the scope of the tool called (WWW-Authenticate names it)',
    content: { 'application/problem+json': { schema: schemaRef(problemSchema) } },
  })
  async post(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const caller = await this.auth.authenticate(req);
    // Peeked before the SDK sees it: a tool the token has no scope for is an HTTP 403 with a
    // step-up challenge (a tool result could only say so inside a 200).
    const missing = missingScopes(caller.oauth.scopes, scopesCalledFor(req.body));
    if (missing.length > 0) throw this.auth.insufficientScope(missing);

    const server = this.tools.serverFor(caller, req.id);
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    // Fastify does not send a hijacked reply, so the headers its hooks set (X-Request-Id,
    // Cache-Control) go onto the Node response the transport writes.
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined) reply.raw.setHeader(name, value);
    }
    reply.raw.setHeader('Cache-Control', 'no-store');
    reply.hijack();
    reply.raw.on('close', () => {
      void transport.close();
      void server.close();
    });
    try {
      await server.connect(transport);
      await transport.handleRequest(req.raw, reply.raw, req.body);
    } catch (err) {
      this.logger.error({ err }, 'MCP request failed');
      if (!reply.raw.headersSent) {
        const problem = toProblem(classifyError(err), req.id);
        reply.raw.writeHead(problem.status, { 'content-type': PROBLEM_CONTENT_TYPE });
        reply.raw.end(JSON.stringify(problem));
      }
    }
  }

  /** No server-initiated stream: the endpoint is stateless (MCP lets a server answer 405). */
  @Get()
  @ApiExcludeEndpoint()
  async stream(@Req() req: FastifyRequest): Promise<never> {
    await this.auth.authenticate(req);
    throw methodNotAllowed();
  }

  /** No session to end: the endpoint is stateless. */
  @Delete()
  @ApiExcludeEndpoint()
  async end(@Req() req: FastifyRequest): Promise<never> {
    await this.auth.authenticate(req);
    throw methodNotAllowed();
  }
}

function methodNotAllowed(): BrokerError {
  return new BrokerError(
    'method_not_allowed',
    'The MCP endpoint is stateless: POST JSON-RPC messages; there is no stream or session',
    { headers: { Allow: 'POST' } },
  );
}
