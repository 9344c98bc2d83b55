import { Get, Header, HttpCode, Post, Redirect, applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation } from '@nestjs/swagger';
import { z } from 'zod';
import { ActsForUser, Public } from '../../auth/decorators';
import { LoginRateLimit } from '../../auth/login-rate-limit';
import { ZodResponse, dateTimeString, responseSchema } from '../../openapi/contract';
import { problemResponses } from '../../openapi/schemas';

export const loginUrlView = responseSchema(
  'LoginUrl',
  z.object({
    login_url: z.string().meta({ format: 'uri' }).describe("The provider's consent page"),
    state_expires_at: dateTimeString.describe('When the one-time state stops being accepted'),
  }),
);

export type LoginUrlView = z.output<typeof loginUrlView>;

/**
 * `POST /<provider>/login` of an authorization-code connector: for one user (an API key names
 * it), rate limited, answering `{ login_url, state_expires_at }`.
 */
export function OAuthLoginRoute(operationId: string, summary: string): MethodDecorator {
  return applyDecorators(
    Post('login'),
    HttpCode(200),
    ActsForUser(),
    LoginRateLimit(),
    ApiBearerAuth(),
    ApiHeader({
      name: 'X-On-Behalf-Of',
      required: false,
      description: 'Required for API keys: the user id',
    }),
    ApiOperation({ operationId, summary }),
    ZodResponse(200, loginUrlView),
    problemResponses(400, 401, 403, 404, 429),
  );
}

/**
 * `GET /<provider>/callback`: public (the provider's redirect), never cached, always a 302 to
 * the frontend with the outcome in the query; only a disabled provider answers 404.
 */
export function OAuthCallbackRoute(
  provider: string,
  operationId: string,
  summary: string,
  codes: readonly string[],
): MethodDecorator {
  return applyDecorators(
    Get('callback'),
    Public(),
    Redirect(),
    Header('Cache-Control', 'no-store'),
    ApiOperation({
      operationId,
      summary,
      description:
        `Redirects to redirect_to (or FRONTEND_URL) with ?provider=${provider}&status=connected&connection_id=… ` +
        `or ?provider=${provider}&status=error&code=(${codes.join('|')}).`,
    }),
    ZodResponse(302, null, 'To the frontend, with the outcome in the query'),
    problemResponses(404),
  );
}
