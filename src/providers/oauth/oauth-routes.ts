import { Get, Header, HttpCode, Post, Redirect, applyDecorators } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiResponse,
} from '@nestjs/swagger';
import { ActsForUser, Public } from '../../auth/decorators';
import { LoginRateLimit } from '../../common/rate-limit';
import { problemResponses } from '../../openapi/schemas';

/**
 * `POST /<provider>/login` of an authorization-code connector: for one user (an API key names
 * it), rate limited, answering `{ login_url, state_expires_at }`.
 */
export function OAuthLoginRoute(summary: string): MethodDecorator {
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
    ApiOperation({ summary }),
    ApiOkResponse({
      schema: {
        type: 'object',
        required: ['login_url', 'state_expires_at'],
        properties: {
          login_url: { type: 'string', format: 'uri' },
          state_expires_at: { type: 'string', format: 'date-time' },
        },
      },
    }),
    problemResponses(400, 401, 403, 404, 429),
  );
}

/**
 * `GET /<provider>/callback`: public (the provider's redirect), never cached, always a 302 to
 * the frontend with the outcome in the query; only a disabled provider answers 404.
 */
export function OAuthCallbackRoute(
  provider: string,
  summary: string,
  codes: readonly string[],
): MethodDecorator {
  return applyDecorators(
    Get('callback'),
    Public(),
    Redirect(),
    Header('Cache-Control', 'no-store'),
    ApiOperation({
      summary,
      description:
        `Redirects to redirect_to (or FRONTEND_URL) with ?provider=${provider}&status=connected&connection_id=… ` +
        `or ?provider=${provider}&status=error&code=(${codes.join('|')}).`,
    }),
    ApiQuery({ name: 'state', required: false }),
    ApiQuery({ name: 'code', required: false }),
    ApiQuery({ name: 'error', required: false }),
    ApiResponse({ status: 302, description: 'To the frontend, with the outcome in the query' }),
    problemResponses(404),
  );
}
