import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../common/error-codes';
import { responseSchema, schemaRef } from './contract';

/** RFC 9457 problem details, the shape of every error (SPEC §4). */
export const problemSchema = responseSchema(
  'Problem',
  z
    .object({
      type: z.string().meta({ format: 'uri' }),
      title: z.string(),
      status: z.number().int(),
      detail: z.string(),
      code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]),
      request_id: z.string(),
      errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    })
    .describe('RFC 9457 problem details. `code` is stable and machine-readable.'),
);

const DESCRIPTIONS: Record<number, string> = {
  400: 'validation_failed: malformed body, unknown field, wrong type, bad filter, cursor or limit',
  401: 'unauthenticated',
  403: 'forbidden: the API key lacks the scope',
  404: "not_found (also for another user's connection), provider_disabled, or claim_not_found",
  405: 'method_not_allowed',
  409: 'needs_reauth or conflict',
  413: 'payload_too_large',
  422: 'the provider accepted the credentials but the account cannot be used',
  429: 'rate_limited',
  503: 'provider_unavailable or secret_store_unavailable',
};

/** Documents problem+json error responses for the given statuses. */
export function problemResponses(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: DESCRIPTIONS[status] ?? 'error',
        content: { 'application/problem+json': { schema: schemaRef(problemSchema) } },
      }),
    ),
  );
}
