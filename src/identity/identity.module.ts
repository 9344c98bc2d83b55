import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { AuthController } from './auth.controller';
import { LoginStates } from './login-states';
import { SignInService } from './sign-in.service';

/** People signing in (SPEC §9): `/auth/*`, the sign-in flows and their states. */
@Module({
  imports: [AuthModule],
  controllers: [AuthController],
  providers: [LoginStates, SignInService],
  exports: [SignInService],
})
export class IdentityModule {}
