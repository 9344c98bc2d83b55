import { z } from 'zod';
import { requestSchema } from '../openapi/contract';

const jsonRpcMessage = z.looseObject({
  jsonrpc: z.literal('2.0'),
  method: z.string().describe('initialize, tools/list, tools/call, …'),
  id: z.union([z.string(), z.number()]).optional().describe('Absent for a notification'),
  params: z.record(z.string(), z.unknown()).optional(),
});

/** What POST /mcp takes, for the document only: the SDK's transport parses and validates it. */
export const mcpMessage = requestSchema(
  'McpMessage',
  z
    .union([jsonRpcMessage, z.array(jsonRpcMessage)])
    .describe('A JSON-RPC 2.0 request or notification of MCP, or a batch of them'),
);
