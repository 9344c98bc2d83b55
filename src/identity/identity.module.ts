import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { AuthController } from './auth.controller';
import { AuthorizationServer } from './authorization-server/authorization-server';
import { LoginStates } from './login-states';
import { SignInService } from './sign-in.service';

/**
 * People and their tools (SPEC §9, §11): sign-in (`/auth/*`), and the broker's own authorization
 * server for the CLI and MCP clients.
 */
@Module({
  imports: [AuthModule],
  controllers: [AuthController],
  providers: [LoginStates, SignInService, AuthorizationServer],
  exports: [SignInService, AuthorizationServer],
})
export class IdentityModule {}
