import { Get, Header, HttpCode, Post, Redirect, UseGuards, applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation } from '@nestjs/swagger';
import { z } from 'zod';
import { ActsForUser, OptionalCaller } from '../../auth/decorators';
import { RefuseHeadGuard } from '../../http/refuse-head.guard';
import { LoginRateLimit } from '../../auth/login-rate-limit';
import { ZodResponse, dateTimeString, responseSchema } from '../../openapi/contract';
import { problemResponses } from '../../openapi/schemas';

/** `redirect_to` of a login body: where the callback sends the browser (checked by the state). */
export const redirectToField = z
  .string()
  .min(1)
  .max(2048)
  .optional()
  .describe("Where the callback sends the browser; on FRONTEND_URL's or PUBLIC_URL's origin");

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
 * the frontend with the outcome in the query; only a disabled provider answers 404. The
 * redirect carries a one-time claim code, so it sends no Referer onwards.
 */
export function OAuthCallbackRoute(
  provider: string,
  operationId: string,
  summary: string,
  codes: readonly string[],
): MethodDecorator {
  return applyDecorators(
    Get('callback'),
    // Public, and a session of the state's user claims the consent at once (SPEC §5).
    OptionalCaller(),
    UseGuards(RefuseHeadGuard),
    Redirect(),
    Header('Cache-Control', 'no-store'),
    Header('Referrer-Policy', 'no-referrer'),
    ApiOperation({
      operationId,
      summary,
      description:
        `Redirects to redirect_to (or FRONTEND_URL) with ?provider=${provider}&status=claim&claim=<one-time code> ` +
        `(the frontend then calls POST /connections/claim as the user who started the login), ` +
        `or ?provider=${provider}&status=connected&connection_id=<id> when the callback carries the broker session of that user, ` +
        `or ?provider=${provider}&status=error&code=(${codes.join('|')}). ` +
        'HEAD is refused (405) and never consumes the state.',
    }),
    ZodResponse(302, null, 'To the frontend, with the outcome in the query'),
    problemResponses(404, 405),
  );
}
