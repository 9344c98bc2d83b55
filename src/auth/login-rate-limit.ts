import { Injectable, UseGuards, applyDecorators } from '@nestjs/common';
import { Throttle, ThrottlerGuard } from '@nestjs/throttler';
import { type Caller } from './caller';

export const LOGIN_THROTTLER = 'login';

/**
 * Rate limits by caller (user id, API key id + on-behalf-of user), falling back to the client
 * address. Counters live in Redis, so the limit holds across api replicas.
 */
@Injectable()
export class CallerThrottlerGuard extends ThrottlerGuard {
  protected override async getTracker(req: Record<string, unknown>): Promise<string> {
    const caller = req.caller as Caller | undefined;
    switch (caller?.kind) {
      case 'user':
        return `user:${caller.userId}`;
      case 'api_key':
        return `key:${caller.keyId}:${caller.onBehalfOf ?? '*'}`;
      case 'admin_basic':
        return `admin:${caller.user}`;
      case undefined:
        return `ip:${typeof req.ip === 'string' ? req.ip : 'unknown'}`;
    }
  }
}

/** For routes that start a provider login or connect: `RATE_LIMIT_LOGIN_PER_MINUTE` per caller. */
export function LoginRateLimit(): MethodDecorator & ClassDecorator {
  return applyDecorators(UseGuards(CallerThrottlerGuard), Throttle({ [LOGIN_THROTTLER]: {} }));
}
