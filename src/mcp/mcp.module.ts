import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { ConnectionsModule } from '../connections/connections.module';
import { McpAuthenticator } from './mcp-authenticator';
import { McpController } from './mcp.controller';
import { McpTools } from './mcp-tools';
import { ProtectedResourceController } from './protected-resource.controller';

/** The MCP endpoint (SPEC §12): tools over the services of connections/, for broker tokens. */
@Module({
  imports: [AuthModule, ConnectionsModule],
  controllers: [McpController, ProtectedResourceController],
  providers: [McpAuthenticator, McpTools],
})
export class McpModule {}
